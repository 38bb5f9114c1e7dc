-- POST /xapi/statements with generated statements, keep-alive.
--
-- Arguments (besides dir, nonce, auth): batch=N statements per request
-- (1 sends a single statement object, more send an array). Statements
-- come from WORKDIR/pool.jsonl (bench/lib/gen.py pool), taken in order
-- from a different place for each thread; each is sent with a fresh id,
-- so every request stores new statements.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local lib = dofile(here .. "lib.lua")

local opts, pool, headers
local batch, pos, counter = 1, 1, 0
local ID_PREFIX = '{"id":"'
local ID_END = #ID_PREFIX + 36 -- the pool line's own id ends here

setup = lib.setup
done = lib.done

function init(args)
    opts = lib.options(args)
    batch = tonumber(opts.batch or "1")
    pool = lib.lines(opts.dir .. "/pool.jsonl")
    for i = 1, #pool do
        if pool[i]:sub(1, #ID_PREFIX) ~= ID_PREFIX then
            error("pool line " .. i .. " does not start with its id")
        end
        pool[i] = pool[i]:sub(ID_END + 1)
    end
    pos = (thread_no * 7919) % #pool + 1
    headers = lib.headers(opts, { ["Content-Type"] = "application/json" })
end

local function next_statement()
    local tail = pool[pos]

    pos = pos % #pool + 1
    counter = counter + 1
    return ID_PREFIX .. lib.uuid(opts.nonce, thread_no, counter) .. tail
end

function request()
    local body

    if batch == 1 then
        body = next_statement()
    else
        local parts = {}
        for i = 1, batch do
            parts[i] = next_statement()
        end
        body = "[" .. table.concat(parts, ",") .. "]"
    end
    return wrk.format("POST", opts.path or "/xapi/statements", headers, body)
end
