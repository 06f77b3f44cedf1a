/**
 * Invariant: the in-process event cache never changes what APPLY reports. Two cached sinks (two
 * "instances") write the same entities in random order, on the real Redis through the project's scripts;
 * after every call the events each reports (ids, times, aggregated fields) and its as-of time equal what an
 * uncached read of Redis returns. Covers duplicates, late events, events aging out of the lookback, and
 * Redis losing the keys mid-run (the cached copies must not be trusted afterwards).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createRedisStore } from '../../src/adapters/redis.js';
import { parseConfig } from '../../src/config/index.js';
import type { EventForFeatures } from '../../src/features/index.js';
import { Random } from '../../src/sample/random.js';
import { RedisSink } from '../../src/sink/index.js';
import type { AppliedState } from '../../src/sink/index.js';
import type { EntityWork, EventWork } from '../../src/window/index.js';
import { deleteRedisKeys, ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';

const DAY = 86_400_000;
const LOOKBACK = 10 * DAY;
const FIELDS = ['amount', 'declined'];

function view(events: readonly EventForFeatures[]): string[] {
  return events
    .map((e) =>
      JSON.stringify([e.eventId, e.eventTimeMs, e.fields['amount'] ?? null, e.fields['declined'] ?? null]),
    )
    .sort();
}

test('event cache never changes what APPLY reports, with two writers and lost Redis keys', async (t) => {
  ensureServices();
  const config = parseConfig({ redis: { keyPrefix: `${uniqueId('evcache')}:` } }, serviceEnv());
  const store = createRedisStore(config.redis);
  const prefix = config.redis.keyPrefix;
  const opts = { cacheEvents: 10_000, eventFields: FIELDS };
  const writers = [
    new RedisSink(store, prefix, 'churn', LOOKBACK, opts),
    new RedisSink(store, prefix, 'churn', LOOKBACK, opts),
  ];
  const reader = new RedisSink(store, prefix, 'churn', LOOKBACK);
  t.after(async () => {
    await store.close();
    await deleteRedisKeys(config, `${prefix}*`);
  });

  const rnd = new Random(7);
  const entities = Array.from({ length: 30 }, (_, i) => `e${i}`);
  const sent: EventWork[][] = entities.map(() => []);
  let clock = 1_700_000_000_000;
  let checks = 0;
  for (let round = 0; round < 80; round++) {
    if (round === 40) await deleteRedisKeys(config, `${prefix}*`); // Redis lost its data
    clock += rnd.int(0, 2) * DAY + rnd.int(0, 3_600_000);
    const work: EntityWork[] = [];
    for (const [i, id] of entities.entries()) {
      if (!rnd.bernoulli(0.6)) continue;
      const events: EventWork[] = [];
      for (let k = rnd.int(0, 4); k > 0; k--) {
        const old = sent[i] as EventWork[];
        if (old.length > 0 && rnd.bernoulli(0.2)) {
          events.push(old[rnd.int(0, old.length - 1)] as EventWork); // redelivered
          continue;
        }
        const e: EventWork = {
          eventId: `${id}-${round}-${k}`,
          // mostly recent, some late, some already older than the lookback
          eventTimeMs: clock - (rnd.bernoulli(0.15) ? rnd.int(0, 15) * DAY : rnd.int(0, 3_600_000)),
          fields: {
            amount: Math.round(rnd.uniform(1, 500) * 100) / 100,
            declined: rnd.bernoulli(0.1),
            note: 'x',
          },
        };
        old.push(e);
        events.push(e);
      }
      const cdc = rnd.bernoulli(0.3)
        ? { op: 'upsert' as const, version: String(1000 + round), profile: { id, age: 30 }, timeMs: clock }
        : null;
      work.push({ entityId: id, cdc, events, records: [], coalescedCdc: 0, tombstones: 0 });
    }
    if (work.length === 0) continue;
    const writer = writers[rnd.int(0, 1)] as RedisSink;
    const got = await writer.apply(work);
    const truth = await reader.apply(
      work.map((w) => ({
        entityId: w.entityId,
        cdc: null,
        events: [],
        records: [],
        coalescedCdc: 0,
        tombstones: 0,
      })),
    );
    for (const [j, g] of got.entries()) {
      const want = truth[j] as AppliedState;
      assert.equal(g.stateVersion, want.stateVersion, `${g.entityId} round ${round}: state version`);
      assert.equal(g.asOfMs, want.asOfMs, `${g.entityId} round ${round}: as-of`);
      assert.deepEqual(view(g.events), view(want.events), `${g.entityId} round ${round}: events`);
      checks++;
    }
  }
  assert.ok(checks > 1000, `compared ${checks} entity states`);
  const stats = writers.map((w) => w.cacheStats);
  const hits = stats.reduce((n, s) => n + s.hits, 0);
  const misses = stats.reduce((n, s) => n + s.misses, 0);
  // both paths ran many times: copies were current (hits) and stale or missing (misses: the other writer,
  // first sight, the lost keys)
  assert.ok(hits > 200 && misses > 200, `hits ${hits}, misses ${misses}`);
});
