/**
 * Invariants of the fenced Redis writes, on the real Redis through the project's scripts:
 *  - deleted entities stay deleted when older updates are replayed (no resurrection);
 *  - an older or repeated write is a no-op (version fencing); state changes bump the version once;
 *  - events count once per id, however often they are redelivered.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createRedisStore } from '../../src/adapters/redis.js';
import { parseConfig } from '../../src/config/index.js';
import { RedisSink } from '../../src/sink/index.js';
import type { ModelStamp, PredictionRecord } from '../../src/sink/index.js';
import type { EntityWork } from '../../src/window/index.js';
import { deleteRedisKeys, ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';

const DAY = 86_400_000;
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
    tombstones: 0,
  };
}
function pred(id: string, version: number, score: number): PredictionRecord {
  return {
    entityId: id,
    kind: 'upsert',
    version,
    score,
    tier: 'low',
    features: new Float32Array([1, 2]),
    asOfMs: 1,
    scoredAtMs: 2,
    validUntilMs: 3,
    batchId: 'b',
    trigger: { topic: 't', partition: 0, offset: '1' },
  };
}

test('fenced Redis state: deletes are never resurrected by replayed updates; stale writes are no-ops; events count once', async (t) => {
  ensureServices();
  const config = parseConfig({ redis: { keyPrefix: `${uniqueId('fence')}:` } }, serviceEnv());
  const store = createRedisStore(config.redis);
  const sink = new RedisSink(store, config.redis.keyPrefix, 'churn', 30 * DAY);
  t.after(async () => {
    await store.close();
    await deleteRedisKeys(config, `${config.redis.keyPrefix}*`);
  });

  await t.test('deleted entities stay deleted after replaying older updates', async () => {
    let [s] = await sink.apply([upsert('1', '100', 30)]);
    assert.equal(s?.stateVersion, 1);
    [s] = await sink.apply([del('1', '120')]);
    assert.equal(s?.deleted, true);
    assert.equal(s?.profile, null);
    assert.equal(s?.stateVersion, 2);
    for (const lsn of ['100', '110', '119', '120']) {
      [s] = await sink.apply([upsert('1', lsn, 99)]);
      assert.equal(s?.cdc, 'stale', `replayed update at lsn ${lsn} is fenced`);
      assert.equal(s?.deleted, true);
      assert.equal(s?.stateVersion, 2, 'no state change');
    }
    // a genuine re-insert (higher LSN) brings the entity back
    [s] = await sink.apply([upsert('1', '121', 40)]);
    assert.equal(s?.deleted, false);
    assert.deepEqual(s?.profile, { id: '1', age: 40 });
    // LSNs longer than 2^53 compare exactly (as decimal strings)
    [s] = await sink.apply([upsert('1', '90071992547409930', 41)]);
    assert.equal(s?.cdc, 'applied');
    [s] = await sink.apply([upsert('1', '90071992547409929', 42)]);
    assert.equal(s?.cdc, 'stale');
  });

  await t.test('a tombstone alone deletes at the stored LSN; an older update stays fenced', async () => {
    await sink.apply([upsert('2', '500', 30)]);
    let [s] = await sink.apply([
      { entityId: '2', cdc: { op: 'tombstone' }, events: [], records: [], coalescedCdc: 0, tombstones: 1 },
    ]);
    assert.equal(s?.deleted, true);
    [s] = await sink.apply([upsert('2', '500', 31)]);
    assert.equal(s?.deleted, true, 'a redelivery of the last update does not resurrect');
  });

  await t.test('prediction writes are fenced by version', async () => {
    assert.deepEqual(await sink.write([pred('3', 5, 0.5)], model), [true]);
    assert.deepEqual(await sink.write([pred('3', 5, 0.9)], model), [false], 'same version: no-op');
    assert.deepEqual(await sink.write([pred('3', 4, 0.9)], model), [false], 'older version: no-op');
    assert.equal((await store.hgetall(sink.keys('3').prediction)).score, '0.5');
    assert.deepEqual(await sink.write([pred('3', 6, 0.25)], model), [true]);
    assert.equal((await store.hgetall(sink.keys('3').prediction)).score, '0.25');
  });

  await t.test(
    'events count once per id; the entity clock only moves forward; old events expire',
    async () => {
      const ev = (id: string, timeMs: number) => ({
        eventId: id,
        eventTimeMs: timeMs,
        fields: { amount: 1 },
      });
      const work = (events: ReturnType<typeof ev>[]): EntityWork => ({
        entityId: '4',
        cdc: null,
        events,
        records: [],
        coalescedCdc: 0,
        tombstones: 0,
      });
      let [s] = await sink.apply([work([ev('a', 100 * DAY), ev('b', 101 * DAY)])]);
      assert.equal(s?.eventsApplied, 2);
      assert.equal(s?.asOfMs, 101 * DAY);
      const v = s?.stateVersion;
      [s] = await sink.apply([work([ev('a', 100 * DAY), ev('b', 101 * DAY)])]);
      assert.equal(s?.eventsApplied, 0);
      assert.equal(s?.eventsUnchanged, 2);
      assert.equal(s?.stateVersion, v, 'redelivery changes nothing');
      [s] = await sink.apply([work([ev('c', 95 * DAY)])]);
      assert.equal(s?.asOfMs, 101 * DAY, 'a late event does not move the clock back');
      assert.deepEqual(
        s?.events.map((e) => e.eventId),
        ['c', 'a', 'b'],
      );
      [s] = await sink.apply([work([ev('d', 140 * DAY)])]);
      assert.deepEqual(
        s?.events.map((e) => e.eventId),
        ['d'],
        'events 30+ days before the clock are gone',
      );
      [s] = await sink.apply([work([ev('a', 100 * DAY)])]);
      assert.equal(s?.eventsApplied, 0, 'an expired event redelivered is not applied again');
    },
  );
});
