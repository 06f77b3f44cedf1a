import assert from 'node:assert/strict';
import test from 'node:test';
import {
  float32Text,
  EMPTY_STATE,
  applyWork,
  profileText,
  decodeState,
  encodeEvents,
  encodeHeader,
  parseStoredPrediction,
  predictionJsonHead,
  project,
} from '../../../src/sink/index.js';
import type { EntityState, PredictionRecord, StateFields } from '../../../src/sink/index.js';
import { StateCache } from '../../../src/sink/cache.js';
import type { EntityWork, EventWork } from '../../../src/window/index.js';

const DAY = 86_400_000;
const FIELDS: StateFields = {
  profile: ['age', 'segment'],
  event: ['amount', 'declined'],
  lookbackMs: 30 * DAY,
};

function work(over: Partial<EntityWork> = {}): EntityWork {
  return {
    entityId: '1',
    cdc: null,
    events: [],
    records: [],
    coalescedCdc: 0,
    duplicateCdc: 0,
    tombstones: 0,
    ...over,
  };
}
const ev = (id: string, t: number, amount = 1): EventWork => ({
  eventId: id,
  eventTimeMs: t,
  fields: { amount, declined: false, card_number: '4111' },
});

test('applyWork: the highest LSN wins, deletes fence older rows, a tombstone deletes once', () => {
  const up = (lsn: string, age: number) =>
    work({ cdc: { op: 'upsert', version: lsn, profile: { id: 1, age, name: 'x' }, timeMs: 5 } });
  let c = applyWork(EMPTY_STATE, up('10', 30), FIELDS);
  assert.equal(c.cdc, 'applied');
  assert.deepEqual(c.next?.profile, { age: 30 }, 'only the fields features read are kept');
  assert.equal(
    profileText(c.storeProfile),
    JSON.stringify({ id: 1, age: 30, name: 'x' }),
    'the full row is stored',
  );
  const s1 = c.next as EntityState;
  assert.equal(applyWork(s1, up('9', 31), FIELDS).cdc, 'stale');
  assert.equal(applyWork(s1, up('10', 31), FIELDS).next, null, 'a redelivery changes nothing');
  c = applyWork(s1, work({ cdc: { op: 'delete', version: '12', timeMs: 6 } }), FIELDS);
  const s2 = c.next as EntityState;
  assert.equal(s2.deleted, true);
  assert.equal(c.storeProfile, '-');
  assert.equal(applyWork(s2, up('11', 40), FIELDS).cdc, 'stale', 'no resurrection by an older row');
  assert.equal(
    applyWork(s2, work({ cdc: { op: 'tombstone' } }), FIELDS).next,
    null,
    'tombstone after delete',
  );
  // unwrapped streams: a tombstone alone deletes the row it follows, at its LSN
  const s3 = applyWork(s1, work({ cdc: { op: 'tombstone' } }), FIELDS).next as EntityState;
  assert.equal(s3.deleted, true);
  assert.equal(s3.lsn, '10');
  assert.equal(applyWork(s3, up('10', 50), FIELDS).cdc, 'stale');
  // a delete at the same LSN as the stored row (unwrapped: delete derived from the tombstone)
  assert.equal(
    applyWork(s1, work({ cdc: { op: 'delete', version: '10', timeMs: 5 } }), FIELDS).cdc,
    'applied',
  );
});

test('applyWork: events once per id, clock only forward, lookback pruned, order (time, id)', () => {
  let c = applyWork(
    EMPTY_STATE,
    work({ events: [ev('b', 100 * DAY), ev('a', 100 * DAY), ev('b', 100 * DAY)] }),
    FIELDS,
  );
  assert.equal(c.eventsApplied, 2);
  assert.equal(c.eventsUnchanged, 1, 'the duplicate inside the window');
  const s = c.next as EntityState;
  assert.deepEqual(
    s.events.map((e) => e.eventId),
    ['a', 'b'],
  );
  assert.deepEqual(s.events[0]?.fields, { amount: 1, declined: false }, 'no other event fields kept');
  assert.equal(s.clock, 100 * DAY);
  c = applyWork(s, work({ events: [ev('c', 95 * DAY), ev('a', 100 * DAY)] }), FIELDS);
  assert.equal(c.next?.clock, 100 * DAY, 'a late event does not move the clock back');
  assert.deepEqual(
    c.next?.events.map((e) => e.eventId),
    ['c', 'a', 'b'],
  );
  c = applyWork(c.next as EntityState, work({ events: [ev('d', 131 * DAY)] }), FIELDS);
  assert.deepEqual(
    c.next?.events.map((e) => e.eventId),
    ['d'],
    'events 30 days before the clock are gone',
  );
  assert.equal(applyWork(c.next as EntityState, work({ events: [ev('e', 101 * DAY)] }), FIELDS).next, null);
});

test('state codec: encode then decode gives the same state; projection follows JSON semantics', () => {
  const s: EntityState = {
    sv: 1_764_600_000_000_123,
    pv: 1_764_600_000_000_123, // the stored prediction was written with this state (trigger set)
    lsn: '90071992547409930',
    deleted: false,
    clock: 1_700_000_000_000,
    trigger: 'tx/3/1200',
    profile: { age: 44, segment: 'retail' },
    events: [
      { eventId: 'a"\\x', eventTimeMs: 1, fields: { amount: 12.5, declined: true } },
      { eventId: 'b', eventTimeMs: 2, fields: { amount: 0.1 } },
    ],
    applied: { 'tx/3': '1200', 'cdc.customers/3': '90071992547409931' },
  };
  const d = encodeHeader(s);
  const e = encodeEvents(s.events, FIELDS.event);
  const back = decodeState(
    s.sv,
    JSON.stringify({ id: 1, age: 44, segment: 'retail', pii: 'x' }),
    d,
    e,
    FIELDS,
  );
  assert.deepEqual(back, s);
  // a reader whose spec aggregates other fields reads what there is, by name
  const other = decodeState(s.sv, null, d, e, { ...FIELDS, event: ['declined', 'mcc'] });
  assert.deepEqual(
    other.events.map((e) => e.fields),
    [{ declined: true }, {}],
  );
  assert.deepEqual(decodeState(0, null, null, null, FIELDS), EMPTY_STATE);
  // a header stored before `applied` existed reads as an empty basis
  assert.deepEqual(decodeState(s.sv, null, JSON.stringify(['90', 0, 5, 'tx/3/1200']), e, FIELDS).applied, {});
  // a state written without its prediction (no profile yet): the stored prediction, if any, is older
  assert.equal(decodeState(s.sv, null, encodeHeader({ ...s, trigger: '' }), e, FIELDS).pv, 0);
  assert.deepEqual(
    project({ a: -0, b: Number.NaN, c: undefined, d: 'x', e: 10n }, ['a', 'b', 'c', 'd', 'e', 'f']),
    {
      a: 0,
      b: null,
      d: 'x',
      e: 10,
    },
  );
});

/** The model stamp and an upsert prediction the stored-text tests start from (fields overridden per test). */
const MODEL = { name: 'churn', version: '2', sha256: 'ab', trainingRunId: 'r', featureVersion: 'f@2' };
function upsertRecord(over: Partial<PredictionRecord>): PredictionRecord {
  return {
    entityId: 'c1',
    kind: 'upsert',
    score: 0.5,
    tier: 'high',
    features: new Float32Array([0.5, -2, 0]),
    asOfMs: 10,
    scoredAtMs: 20,
    validUntilMs: 30,
    batchId: 'b',
    trigger: { topic: 't', partition: 2, offset: '9' },
    basis: { 't/2': '9' },
    ...over,
  };
}

test('stored prediction JSON: parses back to the values written, with the version the store appends', () => {
  const p = upsertRecord({
    entityId: 'c"1',
    score: 0.1234567,
    features: new Float32Array([0.1, -2.5, 3e-8]),
    trigger: { topic: 't', partition: 2, offset: '9007199254740993' },
    basis: { 't/2': '9007199254740993' },
  });
  const model = MODEL;
  const head = predictionJsonHead(p, model);
  const stored = parseStoredPrediction(`${head}1764600000000123}`);
  assert.equal(stored?.version, 1_764_600_000_000_123);
  assert.equal(stored?.score, Math.fround(0.1234567), 'float32 survives the text');
  assert.deepEqual(stored?.features, Array.from(p.features as Float32Array));
  assert.equal(stored?.trigger_offset, '9007199254740993', 'offsets stay exact');
  assert.deepEqual(stored?.basis, { 't/2': '9007199254740993' }, 'the basis is stored with the prediction');
  assert.equal(stored?.entity_id, 'c"1');
  const del = predictionJsonHead({ ...p, kind: 'delete', score: null, tier: null, features: null }, model);
  const d = parseStoredPrediction(`${del}5}`);
  assert.equal(d?.deleted, true);
  assert.equal(d?.model_sha256, 'ab', 'a deletion keeps the model stamp');
});

test('stored prediction and state header: the exact text', () => {
  const model = MODEL;
  const p = upsertRecord({ reasons: { method: 'linear', link: 'logit', base: -1.5, rest: 0.25, top: [] } });
  assert.equal(
    predictionJsonHead(p, model),
    '{"entity_id":"c1","deleted":false,"score":0.5,"tier":"high","model_name":"churn","model_version":"2",' +
      '"model_sha256":"ab","training_run_id":"r","feature_version":"f@2","features":[0.5,-2,0],"as_of":10,' +
      '"scored_at":20,"valid_until":30,"batch_id":"b","trigger_topic":"t","trigger_partition":2,' +
      '"trigger_offset":"9","basis":{"t/2":"9"},"reasons":{"method":"linear","link":"logit","base":-1.5,' +
      '"rest":0.25,"top":[]},"version":',
  );
  assert.equal(
    predictionJsonHead(
      { ...p, kind: 'delete', score: null, tier: null, features: null, validUntilMs: null },
      model,
    ),
    '{"entity_id":"c1","deleted":true,"score":null,"tier":null,"model_name":"churn","model_version":"2",' +
      '"model_sha256":"ab","training_run_id":"r","feature_version":"f@2","features":[],"as_of":10,' +
      '"scored_at":20,"valid_until":null,"batch_id":"b","trigger_topic":"t","trigger_partition":2,' +
      '"trigger_offset":"9","basis":{"t/2":"9"},"reasons":null,"version":',
  );
  const header = encodeHeader({
    ...EMPTY_STATE,
    lsn: '123',
    deleted: true,
    clock: 1712670299705,
    trigger: 't/2/9',
    applied: { 't/2': '9' },
  });
  assert.equal(header, '["123",1,1712670299705,"t/2/9",{"t/2":"9"}]');
});

test('stored prediction features: every float32 parses back to itself; non-finite values are null, -0 is 0', () => {
  const model = { name: 'm', version: '1', sha256: 'ab', trainingRunId: 'r', featureVersion: 'f@1' };
  const values = [Number.NaN, Infinity, -Infinity, -0, 1e-45, 3.4e38, 0.1, -123.456, 1e21, 1e-7];
  for (let seed = 1; seed < 200; seed++) values.push(Math.sin(seed) * 10 ** ((seed % 13) - 6));
  const features = new Float32Array(values);
  const head = predictionJsonHead(
    {
      entityId: 'e',
      kind: 'upsert',
      score: 0.5,
      tier: null,
      features,
      asOfMs: 1,
      scoredAtMs: 2,
      validUntilMs: null,
      batchId: 'b',
      trigger: { topic: 't', partition: 0, offset: '1' },
      basis: {},
    },
    model,
  );
  // the text itself: each element as float32Text prints it (a format change would show here first)
  assert.ok(head.includes(`"features":[${Array.from(features, float32Text).join(',')}]`), 'features text');
  const stored = parseStoredPrediction(`${head}1}`);
  const expected = Array.from(features, (v) => (Number.isFinite(v) ? (Object.is(v, -0) ? 0 : v) : null));
  assert.deepEqual(stored?.features, expected);
  for (const v of stored?.features ?? []) if (v !== null) assert.equal(Math.fround(v), v, 'a float32 value');
});

test('state cache: bounded by bytes, least recently used out first, never replaced by an older version', () => {
  const s = (sv: number): EntityState => ({ ...EMPTY_STATE, sv, profile: { age: 1 } });
  const cache = new StateCache(2000);
  for (let i = 0; i < 20; i++) cache.set(`e${i}`, s(1));
  assert.ok(cache.stats.bytes <= 2000 && cache.stats.entities < 20 && cache.stats.entities > 0);
  assert.equal(cache.get('e0'), undefined, 'the oldest went first');
  assert.ok(cache.get('e19'));
  cache.set('e19', s(5));
  cache.set('e19', s(3));
  assert.equal(cache.get('e19')?.sv, 5);
  assert.equal(new StateCache(0).get('x'), undefined);
});

test('redeliveries are counted as duplicates, never applied twice: an event id held, a change at the held CDC position', () => {
  const first = applyWork(
    EMPTY_STATE,
    work({
      cdc: { op: 'upsert', version: '100', profile: { age: 40 }, timeMs: 1000 },
      events: [
        { eventId: 'a', eventTimeMs: 900, fields: { amount: 1 } },
        { eventId: 'a', eventTimeMs: 900, fields: { amount: 1 } },
      ],
    }),
    FIELDS,
  );
  assert.equal(first.eventsApplied, 1);
  assert.equal(first.duplicates, 1, 'the same event twice in one window');
  const held = { ...(first.next as NonNullable<typeof first.next>), sv: 1, pv: 1 };
  const again = applyWork(
    held,
    work({
      cdc: { op: 'upsert', version: '100', profile: { age: 40 }, timeMs: 1000 },
      events: [{ eventId: 'a', eventTimeMs: 900, fields: { amount: 1 } }],
    }),
    FIELDS,
  );
  assert.equal(again.next, null, 'nothing changes');
  assert.equal(again.duplicates, 2);
  const older = applyWork(
    held,
    work({ cdc: { op: 'upsert', version: '050', profile: { age: 1 }, timeMs: 500 } }),
    FIELDS,
  );
  assert.equal(older.duplicates, 0, 'an older change is stale, not a duplicate');
  // a window bringing many events of one entity (looked up in a set rather than the held list)
  const many = applyWork(
    held,
    work({
      events: ['b', 'a', 'c', 'b', 'd', 'e'].map((id, k) => ({
        eventId: id,
        eventTimeMs: 950 + k,
        fields: { amount: 1 },
      })),
    }),
    FIELDS,
  );
  assert.equal(many.eventsApplied, 4, 'b, c, d, e');
  assert.equal(many.duplicates, 2, 'a held, b twice in the window');
  assert.deepEqual(
    many.next?.events.map((e) => e.eventId),
    ['a', 'b', 'c', 'd', 'e'],
  );
});

test('applyWork: a TOASTed column the change left unchanged (__debezium_unavailable_value) keeps the stored value; none stored: null', () => {
  const up = (lsn: string, segment: string, age = 30) =>
    work({ cdc: { op: 'upsert', version: lsn, profile: { id: 1, age, segment }, timeMs: 5 } });
  const s1 = applyWork(EMPTY_STATE, up('10', 'private'), FIELDS).next as EntityState;
  const c = applyWork(s1, up('11', '__debezium_unavailable_value', 31), FIELDS);
  assert.deepEqual(c.next?.profile, { age: 31, segment: 'private' });
  assert.equal(profileText(c.storeProfile), JSON.stringify({ id: 1, age: 31, segment: 'private' }));
  // bytes columns carry the placeholder as bytes, handed on as base64
  const b64 = Buffer.from('__debezium_unavailable_value').toString('base64');
  assert.deepEqual(applyWork(s1, up('12', b64, 32), FIELDS).next?.profile, { age: 32, segment: 'private' });
  assert.deepEqual(applyWork(EMPTY_STATE, up('10', '__debezium_unavailable_value'), FIELDS).next?.profile, {
    age: 30,
    segment: null,
  });
});

test('state basis: a change records the newest record of the entity per partition; a window that changes nothing leaves it', () => {
  const ref = (topic: string, offset: string) => ({ topic, partition: 2, offset });
  let c = applyWork(
    EMPTY_STATE,
    work({ events: [ev('a', 100 * DAY)], records: [ref('tx', '9'), ref('tx', '17')] }),
    FIELDS,
  );
  assert.deepEqual(c.next?.applied, { 'tx/2': '17' });
  c = applyWork(
    c.next as EntityState,
    work({ cdc: { op: 'upsert', version: '5', profile: { age: 1 }, timeMs: 0 }, records: [ref('cdc', '3')] }),
    FIELDS,
  );
  assert.deepEqual(c.next?.applied, { 'tx/2': '17', 'cdc/2': '3' });
  // offsets compare as numbers, not text
  c = applyWork(
    c.next as EntityState,
    work({ events: [ev('b', 101 * DAY)], records: [ref('tx', '100')] }),
    FIELDS,
  );
  assert.deepEqual(c.next?.applied, { 'tx/2': '100', 'cdc/2': '3' });
  // a redelivery changes nothing: no next state, so the basis stays where the last change left it
  assert.equal(
    applyWork(
      c.next as EntityState,
      work({ events: [ev('b', 101 * DAY)], records: [ref('tx', '101')] }),
      FIELDS,
    ).next,
    null,
  );
});

test('applyWork: events held sorted by (time, id) whatever order windows bring them in (in-order appends and late events)', () => {
  // Park–Miller: the product stays below 2^53, so every step is exact
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    let s: EntityState = EMPTY_STATE;
    const all = new Map<string, number>();
    let t = 100 * DAY;
    for (let w = 0; w < 8; w++) {
      const events: EventWork[] = [];
      for (let k = 1 + rand(4); k > 0; k--) {
        // mostly forward in time, sometimes late, sometimes the same instant
        t += rand(3) === 0 ? 0 : 60_000;
        const at = rand(5) === 0 ? t - (1 + rand(5)) * 60_000 : t;
        const id = `e${rand(40)}`;
        events.push(ev(id, at));
        if (!all.has(id)) all.set(id, at);
      }
      s = applyWork(s, work({ events }), FIELDS).next ?? s;
    }
    // the oracle: every id once (its first delivery), ordered by time then id (code units)
    const expected = [...all]
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([id]) => id);
    assert.deepEqual(
      s.events.map((e) => e.eventId),
      expected,
      `round ${round}`,
    );
  }
});

test('encodeEvents: the rows of JSON.stringify, in the order of the given fields, as the state gains events', () => {
  const fresh = (events: EntityState['events'], fields: readonly string[]) =>
    JSON.stringify([
      fields,
      ...events.map((e) => [e.eventId, e.eventTimeMs, ...fields.map((f) => e.fields[f] ?? null)]),
    ]);
  let s = applyWork(
    EMPTY_STATE,
    work({ events: [ev('a"1', 100 * DAY, 2.5), ev('b', 100 * DAY + 1, -0.1)] }),
    FIELDS,
  ).next as EntityState;
  const other = ['declined', 'missing', 'amount'];
  for (let i = 0; i < 3; i++) {
    assert.equal(encodeEvents(s.events, FIELDS.event), fresh(s.events, FIELDS.event));
    assert.equal(encodeEvents(s.events, other), fresh(s.events, other), 'another field list: its own text');
    s = applyWork(s, work({ events: [ev(`n${i}`, 100 * DAY + 10 + i, i)] }), FIELDS).next as EntityState;
  }
  assert.equal(s.events.length, 5);
  assert.equal(encodeEvents(s.events, FIELDS.event), fresh(s.events, FIELDS.event));
  assert.equal(encodeEvents([], FIELDS.event), fresh([], FIELDS.event));
});
