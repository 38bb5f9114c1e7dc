-- GET /xapi/statements with filters that match stored statements.
--
-- Arguments (besides dir, nonce, auth): queries=NAME picks the list
-- WORKDIR/queries-NAME.txt of request paths that bench/lib/gen.py load
-- wrote for the statements it stored; each request takes one at random.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local opts, paths, headers

setup = lib.setup
done = lib.done

function init(args)
    opts = lib.options(args)
    if opts.queries == nil then
        error("query.lua needs queries=NAME")
    end
    paths = lib.lines(opts.dir .. "/queries-" .. opts.queries .. ".txt")
    headers = lib.headers(opts)
    math.randomseed(1000 + thread_no)
end

function request()
    return wrk.format("GET", paths[math.random(#paths)], headers)
end
