/**
 * The Lua scripts that own entity keys. The feature state is computed in process (src/sink/state.ts); Redis
 * only checks that nobody changed an entity since its state was read (compare-and-set on `sv`), stores it,
 * and writes the prediction fenced by its version, in one call for both. No script parses JSON (cjson was
 * two thirds of the old scripts' server time): every value is an opaque string the client built.
 *
 * Versions: a new version is max(sv + 1, server time in µs). It grows with every change, like a counter,
 * and it cannot repeat or go backwards even when Redis lost its data and `sv` restarted from nothing
 * (as long as the server clock does not jump back), so readers that keep the highest version stay right.
 */

import type { ScriptSource } from '../adapters/redis.js';

/**
 * READ: per entity (KEYS: state key), its whole state hash as field/value pairs (empty: no state): sv, p,
 * d and the events' bucket fields (see src/sink/stored-state.ts).
 */
export const READ_SCRIPT: ScriptSource = {
  name: 'ssRead',
  lua: `
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HGETALL', KEYS[i])
end
return out
`,
};

/**
 * Every write is fenced by the Redis epoch (src/sink/epoch.ts): KEYS[1] is the epoch key and ARGV[1] the
 * token the writer holds. A Redis that lost its data has no epoch key (or a rebuild's), so nothing is
 * written on top of a wiped store until its state has been rebuilt from the log; the call fails with
 * `SSEPOCH` and the writer recovers (src/recover/).
 *
 * And by the writer's run (KEYS[2], ARGV[2]): a rescore or timer job holds the key of its job with its
 * run's token, so a later run of the same job shuts an earlier one out of Redis at once (`SSRUN`), not
 * only out of Kafka: nothing it writes afterwards can be left without its events. A window has no run: it
 * passes the epoch key again, and the check is skipped.
 */
const RUN_REFUSED = `return redis.error_reply('SSRUN a later run of this job took it over')`;

const runCheck = (k: number) => `
if KEYS[${k}] ~= KEYS[1] and redis.call('GET', KEYS[${k}]) ~= ARGV[${k}] then
  ${RUN_REFUSED}
end`;

const EPOCH_CHECK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('SSEPOCH the Redis epoch is not the one this writer holds (Redis lost its data, or a rebuild is running)')
end${runCheck(2)}`;

/** The run fence alone (KEYS[1], ARGV[1]), for a job's own keys; see EPOCH_CHECK. */
export const RUN_CHECK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  ${RUN_REFUSED}
end`;

/**
 * COMMIT: the epoch and run fences (see above: KEYS[1..2], ARGV[1..2]), then per entity KEYS (state,
 * prediction) and ARGV (base sv, d, p, prediction, deleted, k, then k field/value pairs of event buckets):
 *  - base sv: the version the client computed from; anything else stored means a concurrent change, and
 *    nothing is written for the entity: the reply carries the stored state hash to compute again from;
 *  - d: the new state header (opaque); p: the full profile row ('' keep, '-' remove);
 *  - prediction: '' none; else the prediction's JSON without its closing version, which the script
 *    appends: `<json>` .. version .. '}'; deleted: its `deleted` field ('1' or '0');
 *  - the event fields the window changed (eventFieldWrites): a value stores the field, '' removes it. The
 *    buckets a window did not touch are not sent.
 * The prediction needs no fence of its own: only the writer that passed the compare-and-set writes it, and
 * its version is greater than every version given out before (see above).
 *
 * Reply: one flat array, `{floor, ...}`: every entity written got the version `floor` (the server time)
 * unless it is listed after it, as `'v', n, version` (its stored sv was already at or past the server time)
 * or `'c', n, m, field, value, ...` (refused; the m strings of the stored state hash). n is the entity's
 * place in the call, from 1.
 *
 * What costs Redis here is mostly Lua strings: building one hashes every byte (about 1.2 ns per byte on
 * the box of bench/), so a prediction of 1.5 KB costs about 1.8 µs each time it becomes a Lua string (as an
 * argument, and again for the stored text). Hence one concatenation per prediction, no string.sub of it,
 * and no formatted version per entity; and events by bucket, so a state's other buckets are not sent again.
 */
export const COMMIT_SCRIPT: ScriptSource = {
  name: 'ssCommit',
  lua: `${EPOCH_CHECK}
local now = redis.call('TIME')
local floor = tonumber(now[1]) * 1000000 + tonumber(now[2])
local fs = string.format('%.0f', floor)
local out = {fs}
local a = 2
for n = 1, (#KEYS - 2) / 2 do
  local ks, kp = KEYS[2 * n + 1], KEYS[2 * n + 2]
  local k = tonumber(ARGV[a + 6])
  local sv = redis.call('HGET', ks, 'sv') or '0'
  if sv ~= ARGV[a + 1] then
    local s = redis.call('HGETALL', ks)
    out[#out + 1] = 'c'
    out[#out + 1] = n
    out[#out + 1] = #s
    for i = 1, #s do
      out[#out + 1] = s[i]
    end
  else
    local vs = fs
    local v = tonumber(sv) + 1
    if v > floor then
      vs = string.format('%.0f', v)
      out[#out + 1] = 'v'
      out[#out + 1] = n
      out[#out + 1] = vs
    end
    local set = {'sv', vs, 'd', ARGV[a + 2]}
    local p = ARGV[a + 3]
    if p == '-' then
      redis.call('HDEL', ks, 'p')
    elseif p ~= '' then
      set[5] = 'p'
      set[6] = p
    end
    for i = a + 7, a + 5 + 2 * k, 2 do
      local e = ARGV[i + 1]
      if e == '' then
        redis.call('HDEL', ks, ARGV[i])
      else
        set[#set + 1] = ARGV[i]
        set[#set + 1] = e
      end
    end
    redis.call('HSET', ks, unpack(set))
    local pred = ARGV[a + 4]
    if pred ~= '' then
      redis.call('HSET', kp, 'version', vs, 'deleted', ARGV[a + 5], 'json', pred .. vs .. '}')
    end
  end
  a = a + 6 + 2 * k
end
return out
`,
};

/** What COMMIT_SCRIPT did with one entity: written with `version`, or refused with the stored state hash. */
export type CommitOutcome =
  { readonly ok: true; readonly version: number } | { readonly ok: false; readonly hash: readonly string[] };

/** The outcome of each of a call's `count` entities, from its reply (see COMMIT_SCRIPT). */
export function commitOutcomes(reply: readonly unknown[], count: number): CommitOutcome[] {
  const floor = Number(reply[0]);
  if (!Number.isSafeInteger(floor))
    throw new Error(`COMMIT reply starts with ${String(reply[0])}, not a version`);
  const written: CommitOutcome = { ok: true, version: floor };
  const out = new Array<CommitOutcome>(count).fill(written);
  for (let i = 1; i < reply.length;) {
    const kind = reply[i];
    const m = kind === 'c' ? Number(reply[i + 2]) : 0;
    if (kind === 'c' && !(Number.isInteger(m) && m >= 0 && m % 2 === 0))
      throw new Error(`COMMIT reply gives a stored state of ${String(reply[i + 2])} strings`);
    const size = kind === 'v' ? 3 : kind === 'c' ? 3 + m : 0;
    if (size === 0) throw new Error(`COMMIT reply has an unknown entry ${String(kind)}`);
    if (i + size > reply.length) throw new Error(`COMMIT reply ends inside its '${String(kind)}' entry`);
    const n = Number(reply[i + 1]) - 1;
    if (!(Number.isInteger(n) && n >= 0 && n < count))
      throw new Error(`COMMIT reply names entity ${n + 1} of ${count}`);
    if (kind === 'v') {
      const version = Number(reply[i + 2]);
      if (!Number.isSafeInteger(version))
        throw new Error(`COMMIT reply gives entity ${n + 1} version ${String(reply[i + 2])}`);
      out[n] = { ok: true, version };
    } else {
      out[n] = { ok: false, hash: reply.slice(i + 3, i + 3 + m).map(String) };
    }
    i += size;
  }
  return out;
}

/**
 * SETMAX: stores max(current, ARGV[2]) for an integer counter (the committed-offset marker, KEYS[2]) when
 * the epoch (KEYS[1]) is the writer's token (ARGV[1]); returns 0 and writes nothing otherwise.
 */
export const SET_MAX_SCRIPT: ScriptSource = {
  name: 'ssSetMax',
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local cur = redis.call('GET', KEYS[2])
if cur == false or tonumber(cur) < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2]) end
return 1`,
};
