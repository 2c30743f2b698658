-- wrk script of `npm run bench` (bench/README.md), for one thread (-t1). Settings come from the environment, which
-- the main Lua state (setup, done) and the thread's (init, request, response, delay) both read:
--   BENCH_REQUESTS  file of pre-signed requests, one a line: signature<TAB>body (bench/presign.ts)
--   BENCH_PATH, BENCH_CONTENT_TYPE, BENCH_SIGNATURE_HEADER  where and how to post them
--   BENCH_RATE      requests per second over all connections (0 or unset: each connection sends as soon as answered)
--   BENCH_SUMMARY   where done() writes its JSON summary
-- request() hands out the file's requests in order, so the first `sent` lines are exactly the ones sent.
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
count, sent, ok, other, exhausted = 0, 0, 0, 0, false

function init(args)
  local head = "POST " .. os.getenv("BENCH_PATH") .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port
    .. "\r\nContent-Type: " .. os.getenv("BENCH_CONTENT_TYPE") .. "\r\n" .. os.getenv("BENCH_SIGNATURE_HEADER") .. ": "
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local tab = line:find("\t", 1, true)
    local body = line:sub(tab + 1)
    count = count + 1
    requests[count] = head .. line:sub(1, tab - 1) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
  end
end

function request()
  sent = sent + 1
  if sent > count then
    -- Out of distinct requests: repeat from the start (duplicates) and say so in the summary.
    exhausted = true
    return requests[(sent - 1) % count + 1]
  end
  return requests[sent]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end

if rate > 0 then
  -- Fixed rate: request n (counted over all connections) is due at start + n / rate. A connection that is free
  -- waits for the next due slot; one that is late sends at once (so a slow server is offered the backlog too).
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local start, slots, interval = nil, 0, 1000 / rate
  function delay()
    start = start or now_ms()
    local due = start + slots * interval
    slots = slots + 1
    local wait = due - now_ms()
    if wait < 1 then return 0 end
    return math.floor(wait)
  end
end

local function json_number(n)
  if n ~= n or n == math.huge or n == -math.huge then return "null" end
  return string.format("%.3f", n)
end

function done(summary, latency, _)
  local t = threads[1]
  local e = summary.errors
  local fields = {
    sent = t:get("sent"), ok2xx = t:get("ok"), non2xx = t:get("other"), distinct = t:get("count"),
    completed = summary.requests, durationSeconds = summary.duration / 1e6, rate = rate,
    connectErrors = e.connect, readErrors = e.read, writeErrors = e.write, timeouts = e.timeout,
    latencyMs = {
      p50 = latency:percentile(50) / 1000, p90 = latency:percentile(90) / 1000,
      p99 = latency:percentile(99) / 1000, max = latency.max / 1000,
    },
  }
  local parts = {}
  for name, value in pairs(fields) do
    if type(value) == "table" then
      local inner = {}
      for k, v in pairs(value) do inner[#inner + 1] = string.format("%q:%s", k, json_number(v)) end
      parts[#parts + 1] = string.format("%q:{%s}", name, table.concat(inner, ","))
    else
      local text = type(value) == "number" and json_number(value) or tostring(value)
      parts[#parts + 1] = string.format("%q:%s", name, text)
    end
  end
  parts[#parts + 1] = string.format("%q:%s", "exhausted", tostring(t:get("exhausted")))
  local file = assert(io.open(os.getenv("BENCH_SUMMARY"), "w"))
  file:write("{" .. table.concat(parts, ",") .. "}\n")
  file:close()
end
