-- CaptchaQuery per second: prepared signed calls (each Nonce good once),
-- each from its own userIp, a thousand businessIds in turn, so the
-- per-userIp and per-businessId limits (on as shipped) admit them all.
-- Only answers with code 0 are counted.
-- wrk -t2 -c16 -d20s --latency -s scripts/wrk/query.lua http://127.0.0.1:8080 -- DIR THREADS
package.path = "scripts/wrk/?.lua;" .. package.path
local lib = require("lib")

setup = lib.setup
local queries, n = {}, 0
ok = 0

function init(args)
  queries = lib.lines(args[1] .. "/queries.txt", id, tonumber(args[2]))
end

function request()
  n = n + 1
  -- Past the last line the Nonces repeat and are refused (not counted).
  return wrk.format("GET", queries[(n - 1) % #queries + 1])
end

function response(status, headers, body)
  if status == 200 and body:find('"code":0', 1, true) then ok = ok + 1 end
end

function done(summary, latency)
  lib.report(summary, latency, "CaptchaQuery (code 0)", lib.total("ok"))
end
