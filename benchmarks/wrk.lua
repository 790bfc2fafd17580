-- wrk script for the WhiteBalloon messaging benchmark.
--
-- Usage: wrk -t1 -cN -dS -s wrk.lua URL -- TARGETS_FILE
-- TARGETS_FILE holds one request per line, tab-separated:
--   method, path, session cookie, CSRF token, "send" or "", "hx" or ""
-- Requests are issued round-robin, so consecutive requests come from different
-- members' sessions. "send" lines get a unique form body per request. done()
-- prints one JSON line with throughput, latency percentiles and status counts.

local targets = {}
local counter = 0
local agent = "wb-bench"

-- per-thread counters (read from the main state in done() through thread:get)
s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      local f = split(line)
      local headers = { ["User-Agent"] = agent }
      if f[3] ~= "" then headers["Cookie"] = f[3] end
      if f[4] ~= "" then headers["X-CSRFToken"] = f[4] end
      if f[6] == "hx" then headers["HX-Request"] = "true" end
      local target = { method = f[1], path = f[2], headers = headers, send = (f[5] == "send") }
      if target.send then
        headers["Content-Type"] = "application/x-www-form-urlencoded"
      else
        -- GETs never change: format them once.
        target.raw = wrk.format(f[1], f[2], headers, nil)
      end
      table.insert(targets, target)
    end
  end
  if #targets == 0 then
    error("no targets in " .. args[1])
  end
end

function request()
  counter = counter + 1
  local target = targets[(counter - 1) % #targets + 1]
  if target.send then
    local body = "body=Benchmark+message+" .. counter .. "+at+" .. os.time()
    return wrk.format(target.method, target.path, target.headers, body)
  end
  return target.raw
end

function response(status, headers, body)
  if status < 300 then
    s2xx = s2xx + 1
  elseif status < 400 then
    s3xx = s3xx + 1
  elseif status < 500 then
    s4xx = s4xx + 1
  else
    s5xx = s5xx + 1
  end
end

function done(summary, latency, requests)
  local c = { s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(c) do
      c[name] = c[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    '\nWB_BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p75": %d, "p90": %d, "p95": %d, "p99": %d}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"status": {"2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout,
    c.s2xx, c.s3xx, c.s4xx, c.s5xx))
end
