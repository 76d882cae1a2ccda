//! The Lua scripts that make each store call one atomic step on the
//! server.

/// One use of `KEYS[1]`, atomically: count it, make sure the key lives at
/// least `ARGV[1]` more milliseconds (a new key gets exactly that; a known
/// key keeps the later of its expiry and this one; a key without expiry,
/// which this script never creates, gets one), and return the count.
pub(super) const RECORD_USE_LUA: &str = r"
local uses = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return uses
";

/// Compare-and-increment of `KEYS[1]`, atomically: if its value (0 when
/// absent) is `ARGV[1]`, set it to one more, with an expiry of at least
/// `ARGV[2]` milliseconds (the later of the old and the new), and return
/// 1; else change nothing and return 0.
pub(super) const ADVANCE_LUA: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then
  return 0
end
local ttl = tonumber(ARGV[2])
local old = redis.call('PTTL', KEYS[1])
if old > ttl then
  ttl = old
end
redis.call('SET', KEYS[1], cur + 1, 'PX', ttl)
return 1
";

/// One hit on the rate counter `KEYS[1]` (this window), atomically: count
/// it, give the key an expiry of `ARGV[1]` milliseconds if it has none (a
/// new key: the rest of its window, the next window, in which it is the
/// previous one, and a second), and return the count with the count of
/// `KEYS[2]` (the window before). Both keys share a hash tag.
pub(super) const COUNT_HIT_LUA: &str = r"
local hits = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local before = tonumber(redis.call('GET', KEYS[2]) or '0')
return {hits, before}
";

/// Adds `ARGV[2]` to the decaying counters of the hash `KEYS[1]` (field
/// `t`: the time of the last write, Unix seconds; `v1`, `v2`, ...: one
/// value per half-life in `ARGV[4..]`, seconds), decayed to `ARGV[1]`
/// (now; a clock behind `t` decays nothing), and returns the values as
/// strings (Lua numbers would come back truncated to integers). An amount
/// of 0 only reads. A write keeps the hash `ARGV[3]` more milliseconds.
pub(super) const DECAY_ADD_LUA: &str = r"
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local at = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[1])
local dt = now - at
if dt < 0 then dt = 0 end
local out = {}
for i = 4, #ARGV do
  local field = 'v' .. (i - 3)
  local v = tonumber(redis.call('HGET', KEYS[1], field) or '0')
  v = v * 2 ^ (-dt / tonumber(ARGV[i])) + amount
  out[#out + 1] = string.format('%.17g', v)
  if amount ~= 0 then
    redis.call('HSET', KEYS[1], field, out[#out])
  end
end
if amount ~= 0 then
  if now > at then at = now end
  redis.call('HSET', KEYS[1], 't', at)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return out
";
