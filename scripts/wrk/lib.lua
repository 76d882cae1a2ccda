-- Shared by the wrk scripts: HMAC-SHA1 (the v2 API's default signature,
-- in LuaJIT's 32-bit `bit` operations), base64, URL encoding, and the
-- prepared lines (examples/wrk_prepare.rs) each wrk thread takes its share of.

local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rol, lshift, rshift, tobit = bit.rol, bit.lshift, bit.rshift, bit.tobit

local M = {}

local function be32(n)
  return string.char(band(rshift(n, 24), 255), band(rshift(n, 16), 255),
    band(rshift(n, 8), 255), band(n, 255))
end

function M.sha1(msg)
  local len = #msg
  local bits_hi, bits_lo = math.floor(len * 8 / 4294967296), (len * 8) % 4294967296
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. be32(tobit(bits_hi)) .. be32(tobit(bits_lo))
  local h0, h1, h2, h3, h4 = tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE),
    tobit(0x10325476), tobit(0xC3D2E1F0)
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do
      w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then
        f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif i < 40 then
        f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif i < 60 then
        f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else
        f, k = bxor(b, c, d), 0xCA62C1D6
      end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      a, b, c, d, e = t, a, rol(b, 30), c, d
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  return be32(h0) .. be32(h1) .. be32(h2) .. be32(h3) .. be32(h4)
end

function M.hmac_sha1(key, msg)
  if #key > 64 then key = M.sha1(key) end
  key = key .. string.rep("\0", 64 - #key)
  local ipad = key:gsub(".", function(c) return string.char(bxor(c:byte(), 0x36)) end)
  local opad = key:gsub(".", function(c) return string.char(bxor(c:byte(), 0x5c)) end)
  return M.sha1(opad .. M.sha1(ipad .. msg))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for j = 3, 0, -1 do
      local idx = math.floor(n / 64 ^ j) % 64
      chars[#chars + 1] = B64:sub(idx + 1, idx + 1)
    end
    if not b then chars[3], chars[4] = "=", "=" elseif not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- A signed v2 GET query string for `params` ({{name, value}, ...}): the
-- source string is GET + host + path + "?" + the sorted name=value pairs.
function M.signed_query(host, path, params, secret_id, secret_key, nonce)
  local all = {}
  for _, p in ipairs(params) do all[#all + 1] = p end
  all[#all + 1] = {"SecretId", secret_id}
  all[#all + 1] = {"Timestamp", tostring(os.time())}
  all[#all + 1] = {"Nonce", tostring(nonce)}
  table.sort(all, function(x, y) return x[1] < y[1] end)
  local raw, enc = {}, {}
  for _, p in ipairs(all) do
    raw[#raw + 1] = p[1] .. "=" .. p[2]
    enc[#enc + 1] = p[1] .. "=" .. M.urlencode(p[2])
  end
  local sig = M.base64(M.hmac_sha1(secret_key, "GET" .. host .. path .. "?" .. table.concat(raw, "&")))
  return table.concat(enc, "&") .. "&Signature=" .. M.urlencode(sig)
end

-- This thread's share of the lines of `file`: every `threads`-th line from
-- line `id` (1-based), so that no two threads use the same Nonce or
-- challenge.
function M.lines(file, id, threads)
  local out, n = {}, 0
  for line in io.lines(file) do
    n = n + 1
    if n % threads == id % threads then out[#out + 1] = line end
  end
  assert(#out > 0, "no lines for this thread in " .. file)
  return out
end

function M.split(line)
  local fields = {}
  for f in line:gmatch("%S+") do fields[#fields + 1] = f end
  return fields
end

-- A random client address, sent as X-Forwarded-For (the server trusts
-- 127.0.0.1 as its proxy): a population of users, each under the limits.
function M.client()
  return string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

-- Numbers threads by setup order, and sums what they count at the end.
local threads = {}

function M.setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

function M.total(name)
  local sum = 0
  for _, t in ipairs(threads) do sum = sum + (t:get(name) or 0) end
  return sum
end

function M.threads()
  return #threads
end

-- The p99 line every script prints (wrk's own summary has p50 to p99 with
-- --latency).
function M.report(summary, latency, what, count)
  local secs = summary.duration / 1e6
  io.write(string.format("%s: %d in %.1f s = %.0f/s; request latency p50 %.2f ms, p99 %.2f ms; %d non-2xx, %d errors\n",
    what, count, secs, count / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

return M
