-- wrk script of benchmarks/serve_load.py: the request comes from the environment, and the
-- result is one JSON line, so that the Python side parses numbers instead of wrk's prose.
--   SERVE_LOAD_METHOD  GET or POST          SERVE_LOAD_BODY  request body (POST)
--   SERVE_LOAD_TYPE    Content-Type (POST)  SERVE_LOAD_AUTH  Authorization header, if any

wrk.method = os.getenv("SERVE_LOAD_METHOD") or "GET"
local body = os.getenv("SERVE_LOAD_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("SERVE_LOAD_TYPE")
end
local auth = os.getenv("SERVE_LOAD_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
