/**
 * Invariants of the fenced Redis writes, on the real Redis through the project's scripts:
 *  - deleted entities stay deleted when older updates are replayed (no resurrection);
 *  - a write computed from a state that changed meanwhile (a zombie, a concurrent window) is refused and
 *    writes nothing; a prediction older than the stored one is never written;
 *  - a Redis that lost its keys (the epoch with them) refuses writes; versions only grow, also after it,
 *    and when a stored version is ahead of the Redis clock;
 *  - events count once per id, however often they are redelivered; they are stored one field per bucket of
 *    days, and a state stored before that is read and moved.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/adapters/redis.js';
import { parseConfig } from '../../src/config/index.js';
import { LookupClient } from '../../src/lookup/index.js';
import { RedisSink, applyWork } from '../../src/sink/index.js';
import type { EntityState, ModelStamp, PredictionRecord, StateFields } from '../../src/sink/index.js';
import type { EntityWork } from '../../src/window/index.js';
import { deleteRedisKeys, ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';
import { chunksOf } from '../helpers/state-chunks.js';

const DAY = 86_400_000;
const FIELDS: StateFields = { profile: ['age'], event: ['amount'], lookbackMs: 30 * DAY };
const model: ModelStamp = {
  name: 'm',
  version: '1',
  sha256: 'x'.repeat(64),
  trainingRunId: 'r',
  featureVersion: 'f@1',
};

function upsert(id: string, lsn: string, age: number, timeMs = 1000): EntityWork {
  return {
    entityId: id,
    cdc: { op: 'upsert', version: lsn, profile: { id, age }, timeMs },
    events: [],
    records: [{ topic: 't', partition: 0, offset: lsn }],
    coalescedCdc: 0,
    duplicateCdc: 0,
    tombstones: 0,
  };
}
function del(id: string, lsn: string): EntityWork {
  return {
    entityId: id,
    cdc: { op: 'delete', version: lsn, timeMs: 1000 },
    events: [],
    records: [{ topic: 't', partition: 0, offset: lsn }],
    coalescedCdc: 0,
    duplicateCdc: 0,
    tombstones: 0,
  };
}
/** A window's work for an entity that brings only events. */
function eventsOnly(id: string, events: EntityWork['events']): EntityWork {
  return { entityId: id, cdc: null, events, records: [], coalescedCdc: 0, duplicateCdc: 0, tombstones: 0 };
}
function pred(id: string, score: number, kind: 'upsert' | 'delete' = 'upsert'): PredictionRecord {
  return {
    entityId: id,
    kind,
    score: kind === 'upsert' ? score : null,
    tier: kind === 'upsert' ? 'low' : null,
    features: kind === 'upsert' ? new Float32Array([1, 2]) : null,
    asOfMs: 1,
    scoredAtMs: 2,
    validUntilMs: kind === 'upsert' ? 3 : null,
    batchId: 'b',
    trigger: { topic: 't', partition: 0, offset: '1' },
    basis: {},
  };
}

test('fenced Redis state: deletes are never resurrected; stale writes are refused; versions only grow; events count once', async (t) => {
  ensureServices();
  const config = parseConfig({ redis: { keyPrefix: `${uniqueId('fence')}:` } }, serviceEnv());
  const store = createRedisStore(config.redis);
  const opts = { prefix: config.redis.keyPrefix, pipeline: 'churn', fields: FIELDS };
  // no cache: every load reads what Redis holds
  const sink = new RedisSink(store, { ...opts, cacheBytes: 0 });
  await sink.openEpoch();
  const lookup = new LookupClient({ url: config.redis.url, keyPrefix: config.redis.keyPrefix });
  // the prediction hash as stored (the lookup client reads `deleted` from the hash or from the JSON)
  const raw = new Redis(config.redis.url);
  const predictionHash = async (id: string) => {
    const h = await raw.hgetall(sink.keys(id).prediction);
    return {
      version: h.version,
      deleted: h.deleted,
      json: JSON.parse(h.json ?? 'null') as Record<string, unknown> | null,
    };
  };
  t.after(async () => {
    raw.disconnect();
    await lookup.close();
    await store.close();
    await deleteRedisKeys(config, `${config.redis.keyPrefix}*`);
  });

  /** Applies work to the stored state and writes it (with a prediction when `score` is given). */
  async function step(w: EntityWork, score?: number) {
    const [base] = await sink.load([w.entityId]);
    const change = applyWork(base as EntityState, w, FIELDS);
    if (change.next === null) return { change, state: base as EntityState };
    const kind = change.next.deleted ? 'delete' : 'upsert';
    const [res] = await sink.write(
      [
        {
          entityId: w.entityId,
          base: base as EntityState,
          next: change.next,
          storeProfile: change.storeProfile,
          eventsChanged: change.eventsChanged,
          prediction: score === undefined ? null : pred(w.entityId, score, kind),
        },
      ],
      model,
    );
    assert.ok(res?.ok, 'no concurrent writer here');
    const [state] = await sink.load([w.entityId]);
    return { change, state: state as EntityState };
  }

  await t.test('deleted entities stay deleted after replaying older updates', async () => {
    let r = await step(upsert('1', '100', 30), 0.5);
    assert.equal(r.state.profile?.age, 30);
    r = await step(del('1', '120'), 0);
    assert.equal(r.state.deleted, true);
    assert.equal(r.state.profile, null);
    assert.equal(await lookup.get('1'), null, 'a deleted entity has no prediction');
    const gone = await predictionHash('1');
    assert.equal(gone.deleted, '1', "the hash's deleted field");
    assert.equal(gone.json?.deleted, true);
    assert.equal(String(gone.json?.version), gone.version, 'the JSON carries the hash version');
    const v = r.state.sv;
    for (const lsn of ['100', '110', '119', '120']) {
      r = await step(upsert('1', lsn, 99), 0.9);
      assert.equal(r.change.cdc, 'stale', `replayed update at lsn ${lsn} is fenced`);
      assert.equal(r.state.deleted, true);
      assert.equal(r.state.sv, v, 'no state change');
    }
    // a genuine re-insert (higher LSN) brings the entity back
    r = await step(upsert('1', '121', 40), 0.25);
    assert.equal(r.state.deleted, false);
    assert.deepEqual(r.state.profile, { age: 40 });
    assert.equal((await lookup.get('1'))?.score, 0.25);
    // LSNs longer than 2^53 compare exactly (as decimal strings)
    r = await step(upsert('1', '90071992547409930', 41));
    assert.equal(r.change.cdc, 'applied');
    r = await step(upsert('1', '90071992547409929', 42));
    assert.equal(r.change.cdc, 'stale');
  });

  await t.test('a tombstone alone deletes at the stored LSN; an older update stays fenced', async () => {
    await step(upsert('2', '500', 30), 0.5);
    let r = await step(
      {
        entityId: '2',
        cdc: { op: 'tombstone' },
        events: [],
        records: [],
        coalescedCdc: 0,
        duplicateCdc: 0,
        tombstones: 1,
      },
      0,
    );
    assert.equal(r.state.deleted, true);
    r = await step(upsert('2', '500', 31));
    assert.equal(r.state.deleted, true, 'a redelivery of the last update does not resurrect');
  });

  await t.test(
    'a write computed from a state that changed meanwhile is refused and writes nothing',
    async () => {
      await step(upsert('3', '10', 30), 0.5);
      const [zombieBase] = await sink.load(['3']);
      await step(upsert('3', '20', 31), 0.6); // the rightful owner moves on
      const change = applyWork(zombieBase as EntityState, upsert('3', '15', 99), FIELDS);
      const [res] = await sink.write(
        [
          {
            entityId: '3',
            base: zombieBase as EntityState,
            next: change.next as EntityState,
            storeProfile: change.storeProfile,
            eventsChanged: change.eventsChanged,
            prediction: pred('3', 0.99),
          },
        ],
        model,
      );
      assert.equal(res?.ok, false, 'refused');
      if (res?.ok === false)
        assert.deepEqual(res.current.profile, { age: 31 }, 'the reply carries the stored state');
      assert.equal((await lookup.get('3'))?.score, Math.fround(0.6), 'the newer prediction stays');
      // computed again from the current state, the zombie's older update is a no-op
      const again = applyWork(
        res?.ok === false ? res.current : (zombieBase as EntityState),
        upsert('3', '15', 99),
        FIELDS,
      );
      assert.equal(again.next, null);
    },
  );

  await t.test(
    'a Redis that lost its data refuses writes until a new epoch; versions only grow',
    async () => {
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) {
        await step(upsert('4', String(100 + i), 30 + i), 0.5);
        seen.push((await lookup.get('4'))?.version ?? 0);
      }
      await deleteRedisKeys(config, `${config.redis.keyPrefix}*`); // Redis lost its data
      await assert.rejects(step(upsert('4', '50', 20), 0.1), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SS_REDIS_LOST');
        return true;
      });
      assert.equal(await lookup.get('4'), null, 'nothing was written on the wiped store');
      await sink.openEpoch(); // what a rebuild ends with
      await step(upsert('4', '50', 20), 0.1); // an old row, but nothing fences it any more
      seen.push((await lookup.get('4'))?.version ?? 0);
      for (let i = 1; i < seen.length; i++)
        assert.ok((seen[i] as number) > (seen[i - 1] as number), `versions grow: ${seen.join(', ')}`);
    },
  );

  await t.test(
    'a stored version ahead of the Redis clock: the next is one above it; one call mixes that, a refusal and a plain write',
    async () => {
      for (const id of ['6', '7', '8']) await step(upsert(id, '10', 30), 0.5);
      const ahead = Date.now() * 1000 + 10 * DAY * 1000; // ten days past the server clock, in µs
      await raw.hset(sink.keys('6').state, 'sv', String(ahead));
      const [b6, b7, b8] = (await sink.load(['6', '7', '8'])) as EntityState[];
      await step(upsert('8', '20', 31), 0.6); // 8 moves on: the write below from b8 is stale
      const work = (base: EntityState, w: EntityWork, score: number) => {
        const c = applyWork(base, w, FIELDS);
        return {
          entityId: w.entityId,
          base,
          next: c.next as EntityState,
          storeProfile: c.storeProfile,
          eventsChanged: c.eventsChanged,
          prediction: pred(w.entityId, score),
        };
      };
      const before = Date.now() * 1000;
      const res = await sink.write(
        [
          work(b6 as EntityState, upsert('6', '11', 40), 0.1),
          work(b7 as EntityState, upsert('7', '11', 41), 0.2),
          work(b8 as EntityState, upsert('8', '15', 99), 0.3),
        ],
        model,
      );
      assert.deepEqual(res[0], { ok: true, version: ahead + 1 }, 'one above the stored version');
      assert.equal(res[1]?.ok, true);
      const v7 = res[1]?.ok === true ? res[1].version : 0;
      assert.ok(v7 > (b7 as EntityState).sv && v7 >= before - 5_000_000, `the server time: ${v7}`);
      assert.equal(res[2]?.ok, false, 'the stale write is refused');
      if (res[2]?.ok === false) assert.deepEqual(res[2].current.profile, { age: 31 });
      for (const [id, version, score] of [
        ['6', ahead + 1, 0.1],
        ['7', v7, 0.2],
      ] as const) {
        const [state] = await sink.load([id]);
        assert.equal(state?.sv, version, `${id}: the state's version`);
        const got = await lookup.get(id);
        assert.equal(got?.version, version, `${id}: the prediction's version`);
        assert.equal(got?.score, Math.fround(score));
        const [json] = await sink.storedPredictions([id]);
        assert.equal(json?.version, version, `${id}: the version inside the stored JSON`);
        assert.equal(json?.deleted, false);
        const hash = await predictionHash(id);
        assert.deepEqual([hash.version, hash.deleted], [String(version), '0'], `${id}: the hash's fields`);
      }
      assert.equal(
        (await lookup.get('8'))?.score,
        Math.fround(0.6),
        'the refused prediction was not written',
      );
    },
  );

  await t.test(
    'events count once per id; the entity clock only moves forward; old events expire',
    async () => {
      const ev = (id: string, timeMs: number) => ({
        eventId: id,
        eventTimeMs: timeMs,
        fields: { amount: 1, pii: 'x' },
      });
      const work = (events: ReturnType<typeof ev>[]) => eventsOnly('5', events);
      let r = await step(work([ev('a', 100 * DAY), ev('b', 101 * DAY)]));
      assert.equal(r.change.eventsApplied, 2);
      assert.equal(r.state.clock, 101 * DAY);
      assert.deepEqual(r.state.events[0]?.fields, { amount: 1 }, 'only the aggregated fields are kept');
      const v = r.state.sv;
      r = await step(work([ev('a', 100 * DAY), ev('b', 101 * DAY)]));
      assert.equal(r.change.eventsApplied, 0);
      assert.equal(r.change.eventsUnchanged, 2);
      assert.equal(r.state.sv, v, 'redelivery changes nothing');
      r = await step(work([ev('c', 95 * DAY)]));
      assert.equal(r.state.clock, 101 * DAY, 'a late event does not move the clock back');
      assert.deepEqual(
        r.state.events.map((e) => e.eventId),
        ['c', 'a', 'b'],
      );
      assert.deepEqual(
        (await raw.hkeys(sink.keys('5').state)).sort(),
        ['d', 'e:100', 'e:92', 'sv'],
        'one field per bucket of four days with events (95 in 92–95; 100 and 101 in 100–103)',
      );
      r = await step(work([ev('d', 140 * DAY)]));
      assert.deepEqual(
        r.state.events.map((e) => e.eventId),
        ['d'],
        'events 30+ days before the clock are gone',
      );
      assert.deepEqual(
        (await raw.hkeys(sink.keys('5').state)).sort(),
        ['d', 'e:140', 'sv'],
        'the expired buckets are removed from Redis',
      );
      r = await step(work([ev('a', 100 * DAY)]));
      assert.equal(r.change.eventsApplied, 0, 'an expired event redelivered is not applied again');
    },
  );

  await t.test(
    'a state stored before bucket fields (all events in one `e` field) is read whole and moved to bucket fields by its next write',
    async () => {
      const key = sink.keys('55').state;
      // the layout an earlier version wrote: sv, d = [lsn, deleted, clock, trigger, applied], e
      await raw.hset(
        key,
        'sv',
        '9',
        'd',
        JSON.stringify(['', 0, 101 * DAY, '', {}]),
        'e',
        JSON.stringify([['amount'], ['a', 100 * DAY, 2], ['b', 101 * DAY, 3]]),
      );
      const ev = (id: string, timeMs: number) => ({
        eventId: id,
        eventTimeMs: timeMs,
        fields: { amount: 4 },
      });
      const w = (events: ReturnType<typeof ev>[]) => eventsOnly('55', events);
      let r = await step(w([ev('b', 101 * DAY)]));
      assert.equal(r.change.eventsApplied, 0, 'an event held in the old field counts as held');
      r = await step(w([ev('c', 104 * DAY)]));
      assert.deepEqual(
        r.state.events.map((e) => [e.eventId, e.fields.amount]),
        [
          ['a', 2],
          ['b', 3],
          ['c', 4],
        ],
      );
      assert.deepEqual((await raw.hkeys(key)).sort(), ['d', 'e:100', 'e:104', 'sv']);
      // an older version run again writes `e` next to the buckets (it reads `e` only): the union is read,
      // and the next event write leaves only buckets
      const sv = (await raw.hget(key, 'sv')) as string;
      await raw.hset(
        key,
        'sv',
        String(Number(sv) + 1),
        'e',
        JSON.stringify([['amount'], ['x', 104 * DAY + 5, 6]]),
      );
      r = await step(w([ev('y', 104 * DAY + 9)]));
      assert.deepEqual(
        r.state.events.map((e) => e.eventId),
        ['a', 'b', 'c', 'x', 'y'],
      );
      assert.deepEqual(
        (await raw.hkeys(key)).sort(),
        ['d', ...chunksOf(r.state.events).keys(), 'sv'].sort(),
        'only chunks of buckets are left (104 days + 9 ms closes a chunk)',
      );
    },
  );

  await t.test(
    'a busy bucket is stored in chunks cut where its event times say, read back whole, and a new, expired or late event rewrites its own chunk only',
    async () => {
      const key = sink.keys('56').state;
      const ev = (id: string, timeMs: number) => ({
        eventId: id,
        eventTimeMs: timeMs,
        fields: { amount: 1 },
      });
      const w = (events: ReturnType<typeof ev>[]) => eventsOnly('56', events);
      const stored = async () => {
        const h = await raw.hgetall(key);
        return new Map(
          Object.entries(h)
            .filter(([f]) => f.startsWith('e'))
            .map(([f, v]) => [
              f,
              (JSON.parse(v) as unknown[][]).slice(1).map((e) => `${e[0] as string}@${e[1] as number}`),
            ]),
        );
      };
      /** Applies the events; checks Redis against the chunks computed here, and that other fields stayed. */
      const check = async (events: ReturnType<typeof ev>[], what: string) => {
        const before = await raw.hgetall(key);
        const r = await step(w(events));
        const expected = chunksOf(r.state.events);
        assert.deepEqual(await stored(), expected, `${what}: the stored chunks`);
        const after = await raw.hgetall(key);
        const rewritten = [...expected.keys()].filter((f) => after[f] !== before[f]);
        return { r, rewritten, chunks: expected.size };
      };
      // 300 events a minute apart within day 100 (bucket 100–103), one window
      const ids = Array.from({ length: 300 }, (_, k) => `b${String(k).padStart(3, '0')}`);
      let c = await check(
        ids.map((id, k) => ev(id, 100 * DAY + k * 60_000)),
        'first write',
      );
      assert.equal(c.r.state.events.length, 300, 'read back whole (no cache: from Redis)');
      assert.ok(c.chunks >= 4, `cut in ${c.chunks} chunks`);
      c = await check([ev('c-next', 100 * DAY + 300 * 60_000)], 'an event after the others');
      assert.ok(c.rewritten.length <= 2, `rewrote ${c.rewritten.join(', ')}`);
      c = await check([ev('b150-late', 100 * DAY + 150 * 60_000 + 1)], 'a late event');
      assert.ok(c.rewritten.length <= 2, `rewrote ${c.rewritten.join(', ')}`);
      c = await check([ev('d-month', 130 * DAY + 10 * 60_000 + 1)], 'the first eleven expire');
      assert.equal(c.r.state.events[0]?.eventId, 'b011');
      assert.ok(c.rewritten.length <= 3, `rewrote ${c.rewritten.join(', ')}`);
      assert.equal(c.r.state.events.length, 292);
    },
  );
});

test('a batch of script calls larger than one pipeline comes back whole and in call order', async (t) => {
  ensureServices();
  const config = parseConfig({ redis: { keyPrefix: `${uniqueId('order')}:` } }, serviceEnv());
  const store = createRedisStore(config.redis);
  t.after(() => store.close());
  const script = { name: 'streamscoreTestEcho', lua: 'return ARGV[1]' };
  // about 1.5 MB of arguments: several pipelines (see PIPELINE_BYTES), sent before any reply is read
  const calls = Array.from({ length: 3000 }, (_, i) => ({
    script,
    keys: [`${config.redis.keyPrefix}{order}:k`],
    args: [String(i), 'x'.repeat(500)],
  }));
  const replies = await store.runScripts(calls);
  assert.deepEqual(
    replies,
    calls.map((_, i) => String(i)),
  );
});

test('packed script calls, alone or pipelined, come back whole and in call order, also after Redis lost its scripts', async (t) => {
  ensureServices();
  const config = parseConfig({ redis: { keyPrefix: `${uniqueId('packed')}:` } }, serviceEnv());
  const store = createRedisStore(config.redis);
  const admin = new Redis(config.redis.url, { db: config.redis.db });
  t.after(async () => {
    await store.close();
    admin.disconnect();
  });
  // the counter shows the order Redis ran the calls in, whatever order the replies are matched in
  const script = {
    name: 'streamscoreTestPackedEcho',
    lua: 'return redis.call("INCR", KEYS[1]) .. ":" .. ARGV[1] .. ":" .. #ARGV[2]',
  };
  // calls of about 300 KB (each a pipeline's worth: sent alone) between runs of small ones (pipelined)
  const sizes = [300_000, 10_000, 10_000, 10_000, 300_000, 300_000, 12_000, 300_000, 10_000];
  const batch = () =>
    sizes.map((n, i) =>
      store.pack({
        script,
        keys: [`${config.redis.keyPrefix}{packed}:k`],
        args: [String(i), 'é'.repeat(n / 2)],
      }),
    );
  const expected = (round: number) => sizes.map((n, i) => `${round * sizes.length + i + 1}:${i}:${n}`);
  const first = batch();
  assert.ok(
    first.every((c) => c.packed !== undefined),
    'every call is packed',
  );
  assert.deepEqual(await store.runScripts(first), expected(0));
  assert.deepEqual(await store.runScripts(batch()), expected(1), 'again, by sha1');
  // a Redis restarted without its script cache answers NOSCRIPT: the calls are sent again with the Lua
  await admin.script('FLUSH');
  assert.deepEqual(await store.runScripts(batch()), expected(2), 'after SCRIPT FLUSH');
  // an error reply of a call sent alone fails the batch with the store's error
  const failing = { name: 'streamscoreTestPackedFail', lua: 'return redis.error_reply("SSTEST refused")' };
  await assert.rejects(
    store.runScripts([store.pack({ script: failing, keys: ['k'], args: ['x'.repeat(300_000)] })]),
    (e: Error & { code?: string }) => e.code === 'SS_REDIS' && /SSTEST refused/.test(e.message),
  );
});
