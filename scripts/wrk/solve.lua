-- Solved captchas per second: each captcha is four requests in a row on
-- one connection: a signed CaptchaQuery (prepared), the picture, the right
-- answer (POST /captcha/verify) and a CaptchaCheck of the ticket, signed
-- here (HMAC-SHA1). The challenge answered is a prepared one (a load test
-- cannot read the picture CaptchaQuery's script points at); the server
-- does the same work. Each captcha comes from its own client address and
-- userIp, so the limits (on as shipped) admit it. Run with as many
-- connections as threads (-c = -t): each thread's steps follow each other.
-- wrk -t2 -c2 -d20s --latency -s scripts/wrk/solve.lua http://127.0.0.1:8080 -- DIR THREADS SECRET_ID SECRET_KEY
package.path = "scripts/wrk/?.lua;" .. package.path
local lib = require("lib")

setup = lib.setup
local queries, captchas, secret_id, secret_key, host
local step, n, cap, ticket, nonce = 0, 0, nil, nil, 0
solved = 0

function init(args)
  local dir, threads = args[1], tonumber(args[2])
  secret_id, secret_key = args[3], args[4]
  queries = lib.lines(dir .. "/queries.txt", id, threads)
  captchas = lib.lines(dir .. "/captchas.txt", id, threads)
  host = wrk.host .. ":" .. wrk.port
  nonce = 3e15 + (os.time() % 100000) * 1e9 + id * 1e7
end

function request()
  if step == 0 then
    n = n + 1
    cap = lib.split(captchas[(n - 1) % #captchas + 1])
    return wrk.format("GET", queries[(n - 1) % #queries + 1])
  elseif step == 1 then
    return wrk.format("GET", "/captcha/image?c=" .. cap[2], { ["X-Forwarded-For"] = cap[1] })
  elseif step == 2 then
    return wrk.format("POST", "/captcha/verify", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Forwarded-For"] = cap[1],
    }, "c=" .. cap[2] .. "&answer=" .. cap[3])
  end
  nonce = nonce + 1
  local q = lib.signed_query(host, "/v2/index.php", {
    { "Action", "CaptchaCheck" }, { "ticket", ticket }, { "userIp", cap[1] },
    { "businessId", "1" }, { "captchaType", "5" }, { "registerTime", "1400000000" },
  }, secret_id, secret_key, string.format("%.0f", nonce))
  return wrk.format("GET", "/v2/index.php?" .. q)
end

function response(status, headers, body)
  if step == 2 then
    ticket = body:match('"ticket":"([^"]+)"')
    if not ticket then step = 0 return end
  elseif step == 3 and body:find('"code":0', 1, true) then
    solved = solved + 1
  end
  step = (step + 1) % 4
end

function done(summary, latency)
  lib.report(summary, latency, "solved captchas (CaptchaCheck code 0)", lib.total("solved"))
end
