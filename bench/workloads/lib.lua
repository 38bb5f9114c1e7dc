-- Shared code of the wrk workload scripts (loaded with dofile by each).
--
-- bench/run calls every workload script as
--   wrk ... -s SCRIPT URL -- dir=WORKDIR nonce=HEX12 auth=HEADER [k=v ...]
-- where the k=v pairs after auth come from the args column of
-- bench/workloads.tsv. The script's done() prints one line
--   BENCH_RESULT {"requests":..,"seconds":..,"p50_ms":..,...}
-- which bench/run collects; any other output of wrk is kept in the log.

local lib = {}

-- Parses "k=v" arguments into a table.
function lib.options(args)
    local opts = {}
    for _, a in ipairs(args or {}) do
        local k, v = a:match("^([%w_]+)=(.*)$")
        if k == nil then
            error("workload argument is not k=v: " .. tostring(a))
        end
        opts[k] = v
    end
    for _, k in ipairs({ "dir", "nonce", "auth" }) do
        if opts[k] == nil then
            error("workload argument " .. k .. "= is missing")
        end
    end
    return opts
end

-- Returns the lines of a file as a table; fails when there are none.
function lib.lines(path)
    local t = {}
    local f = assert(io.open(path, "r"))
    for line in f:lines() do
        if #line > 0 then
            t[#t + 1] = line
        end
    end
    f:close()
    if #t == 0 then
        error(path .. " holds no lines")
    end
    return t
end

-- The request headers every xAPI call carries.
function lib.headers(opts, extra)
    local h = {
        ["Authorization"] = opts.auth,
        ["X-Experience-API-Version"] = "1.0.3",
    }
    for k, v in pairs(extra or {}) do
        h[k] = v
    end
    return h
end

-- Numbers the threads in the main state so that each one can make ids
-- and random choices of its own.
local next_thread = 0
function lib.setup(thread)
    thread:set("thread_no", next_thread)
    next_thread = next_thread + 1
end

-- A UUID (version 4 layout) unique per run, thread and counter: the
-- nonce is fresh for every wrk run.
function lib.uuid(nonce, thread_no, counter)
    return string.format("%s-%s-4%03x-8000-%012x", nonce:sub(1, 8),
        nonce:sub(9, 12), thread_no % 4096, counter)
end

-- Prints the summary bench/run reads. Latencies are in milliseconds.
function lib.done(summary, latency)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        'BENCH_RESULT {"requests":%d,"seconds":%.3f,"p50_ms":%.3f,' ..
        '"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors_connect":%d,' ..
        '"errors_read":%d,"errors_write":%d,"errors_status":%d,' ..
        '"errors_timeout":%d}\n',
        summary.requests, seconds, latency:percentile(50) / 1000,
        latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, e.connect, e.read, e.write, e.status,
        e.timeout))
end

return lib
