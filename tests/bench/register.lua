-- wrk script for bench_registration.py (e): POST one generated person per request, a fresh Idempotency-Key each.
-- args: bodies file (one JSON per line), bearer token, run tag, offset into the bodies (runs use different ones)
local threads = {}
local counter = 0
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  token, tag, offset = args[2], args[3], tonumber(args[4] or "0")
  per = math.floor(#bodies / 8)
end

function request()
  counter = counter + 1
  local body = bodies[(offset + id * per + counter) % #bodies + 1]
  return wrk.format("POST", "/api/v1/persons", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token, ["X-Purpose"] = "case-work",
    ["Idempotency-Key"] = tag .. "-" .. id .. "-" .. counter}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do merged[status] = (merged[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(merged) do parts[#parts + 1] = status .. "=" .. n end
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f statuses=%s\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    table.concat(parts, ",")))
end
