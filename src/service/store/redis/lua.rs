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

/// One use of id `ARGV[1]` held by one holder, atomically, with that
/// holder's fair share (`ARGV[4]` live ids at most). The holder's keys
/// share one hash tag: `KEYS[1]`, a sorted set of its live ids scored by
/// expiry (Unix seconds); `KEYS[2]`, a hash of their use counts;
/// `KEYS[3]`, its watermark (the latest expiry among the ids it lost).
/// `ARGV[2]` is the id's expiry, `ARGV[3]` now (the caller's clock),
/// `ARGV[5]` the count an advance expects, or -1 for a plain use.
///
/// Expired ids are forgotten first (at most 1,000 a call). An unknown id
/// that expires no later than the watermark may be one that was dropped:
/// it counts as used up (-1 for a use, 0 for an advance). A new id over
/// the share pushes out the holder's ids that expire first and raises the
/// watermark to their expiry: the holder pays with its own oldest ids,
/// never another holder. A use returns the count; an advance 1 if it
/// moved the counter, else 0.
pub(super) const HELD_USE_LUA: &str = r"
local live, uses, mark = KEYS[1], KEYS[2], KEYS[3]
local id = ARGV[1]
local exp, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local share, from = tonumber(ARGV[4]), tonumber(ARGV[5])
local gone = redis.call('ZRANGEBYSCORE', live, '-inf', now, 'LIMIT', 0, 1000)
if #gone > 0 then
  redis.call('ZREM', live, unpack(gone))
  redis.call('HDEL', uses, unpack(gone))
end
local old = redis.call('ZSCORE', live, id)
local cur = 0
if old then
  cur = tonumber(redis.call('HGET', uses, id) or '0')
elseif exp <= now then
  if from < 0 or from == 0 then return 1 end
  return 0
elseif exp <= tonumber(redis.call('GET', mark) or '0') then
  if from < 0 then return -1 end
  return 0
end
if from >= 0 and cur ~= from then
  return 0
end
if not old then
  while redis.call('ZCARD', live) >= share do
    local first = redis.call('ZPOPMIN', live)
    redis.call('HDEL', uses, first[1])
    local dropped = tonumber(first[2])
    if dropped > tonumber(redis.call('GET', mark) or '0') then
      redis.call('SET', mark, dropped, 'PX', math.max(1, (dropped - now) * 1000))
    end
  end
end
cur = cur + 1
redis.call('HSET', uses, id, cur)
if not old or tonumber(old) < exp then
  redis.call('ZADD', live, exp, id)
end
local last = tonumber(redis.call('ZRANGE', live, -1, -1, 'WITHSCORES')[2])
local ttl = math.max(1, (last - now) * 1000)
for _, key in ipairs({live, uses}) do
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end
if from < 0 then return cur end
return 1
";
