/**
 * Lua scripts run per entity (all keys in one hash slot). They are the only writers of entity keys, and
 * every write is fenced by a monotonic per-entity version, so a replay, a retry, a late batch or a zombie
 * never overwrites newer state and a delete is never undone by an older update.
 */

/**
 * APPLY: applies one window's records of one entity to its feature state and returns what scoring needs.
 * KEYS: state, ev, evd, prediction
 * ARGV: lookbackMs, cdcOp ('' | 'upsert' | 'delete' | 'tombstone'), lsn, profileJson, cdcTimeMs,
 *       then triples (eventId, eventTimeMs, eventJson) for each event.
 * A CDC change applies only when its LSN is greater than the stored one (Debezium redelivers after a
 * restart); a tombstone deletes at the stored LSN; an event applies once per id. Any applied change bumps
 * `sv`, the state version. `t` is the entity's event-time clock: the latest event time applied.
 * Returns {cdc status, events applied, events unchanged, sv, pv, deleted, t, profile, events..., pred...}.
 */
export const APPLY_SCRIPT = `
local function lsn_gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local lookback = tonumber(ARGV[1])
local op = ARGV[2]
local lsn = ARGV[3]
local sv = tonumber(redis.call('HGET', KEYS[1], 'sv') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local changed = false
local cdc = 'none'
if op == 'upsert' or op == 'delete' then
  local cur = redis.call('HGET', KEYS[1], 'lsn')
  -- a delete at the stored LSN still applies: an unwrapped stream's tombstone deletes the row it follows
  local deleting_same = op == 'delete' and cur == lsn and redis.call('HGET', KEYS[1], 'deleted') ~= '1'
  if cur == false or lsn_gt(lsn, cur) or deleting_same then
    if op == 'upsert' then
      redis.call('HSET', KEYS[1], 'profile', ARGV[4], 'deleted', '0', 'lsn', lsn)
    else
      redis.call('HSET', KEYS[1], 'deleted', '1', 'lsn', lsn)
      redis.call('HDEL', KEYS[1], 'profile')
    end
    changed = true
    cdc = 'applied'
    local ct = tonumber(ARGV[5])
    if ct > t then t = ct end
  else
    cdc = 'stale'
  end
elseif op == 'tombstone' then
  if redis.call('HEXISTS', KEYS[1], 'profile') == 1 then
    redis.call('HSET', KEYS[1], 'deleted', '1')
    redis.call('HDEL', KEYS[1], 'profile')
    changed = true
    cdc = 'applied'
  else
    cdc = 'stale'
  end
end
local applied = 0
local unchanged = 0
local i = 6
while i + 2 <= #ARGV do
  local id = ARGV[i]
  local et = tonumber(ARGV[i + 1])
  if et <= t - lookback then
    unchanged = unchanged + 1
  elseif redis.call('ZADD', KEYS[2], 'NX', et, id) == 1 then
    redis.call('HSET', KEYS[3], id, ARGV[i + 2])
    applied = applied + 1
    changed = true
    if et > t then t = et end
  else
    unchanged = unchanged + 1
  end
  i = i + 3
end
if changed then
  sv = sv + 1
  redis.call('HSET', KEYS[1], 'sv', sv, 't', t)
end
-- Events at or before t - lookback can never enter a future window: as-of times only grow.
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', t - lookback)
if #old > 0 then
  redis.call('ZREM', KEYS[2], unpack(old))
  redis.call('HDEL', KEYS[3], unpack(old))
end
local pv = tonumber(redis.call('HGET', KEYS[4], 'version') or '0')
local deleted = redis.call('HGET', KEYS[1], 'deleted') or '0'
local profile = redis.call('HGET', KEYS[1], 'profile') or ''
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (t - lookback), t, 'WITHSCORES')
local evs = {}
if #ids > 0 then
  local names = {}
  for j = 1, #ids, 2 do names[#names + 1] = ids[j] end
  local data = redis.call('HMGET', KEYS[3], unpack(names))
  for j = 1, #names do
    evs[#evs + 1] = names[j]
    evs[#evs + 1] = ids[j * 2]
    evs[#evs + 1] = data[j] or '{}'
  end
end
local pred = {}
if sv == pv and pv > 0 then pred = redis.call('HGETALL', KEYS[4]) end
return {cdc, applied, unchanged, sv, pv, deleted, tostring(t), profile, evs, pred}
`;

/**
 * WRITE: replaces the prediction hash when `version` is newer than the stored one; else a no-op.
 * KEYS: prediction. ARGV: version, then field/value pairs. Returns 1 when written, 0 when fenced.
 */
export const WRITE_SCRIPT = `
local v = tonumber(ARGV[1])
local pv = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v <= pv then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;
