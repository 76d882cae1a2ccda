-- Pictures per second: GET /captcha/image?c=<challenge> (prepared
-- challenges, in turn), each from a random client address (X-Forwarded-For,
-- the server trusting 127.0.0.1 as its proxy), so the per-address picture
-- limit (60 a minute, on as shipped) is not what is measured.
-- wrk -t2 -c16 -d20s --latency -s scripts/wrk/picture.lua http://127.0.0.1:8080 -- DIR THREADS
package.path = "scripts/wrk/?.lua;" .. package.path
local lib = require("lib")

setup = lib.setup
local challenges, n = {}, 0
ok = 0

function init(args)
  for _, line in ipairs(lib.lines(args[1] .. "/captchas.txt", id, tonumber(args[2]))) do
    challenges[#challenges + 1] = lib.split(line)[2]
  end
  math.randomseed(os.time() + id * 7919)
end

function request()
  n = n + 1
  local c = challenges[(n - 1) % #challenges + 1]
  return wrk.format("GET", "/captcha/image?c=" .. c, { ["X-Forwarded-For"] = lib.client() })
end

function response(status)
  if status == 200 then ok = ok + 1 end
end

function done(summary, latency)
  lib.report(summary, latency, "pictures (200)", lib.total("ok"))
end
