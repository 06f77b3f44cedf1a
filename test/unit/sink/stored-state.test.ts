import assert from 'node:assert/strict';
import test from 'node:test';
import {
  EMPTY_STATE,
  applyWork,
  decodeStateHash,
  encodeEvents,
  encodeHeader,
  eventFieldWrites,
} from '../../../src/sink/index.js';
import type { EntityState, StateFields } from '../../../src/sink/index.js';
import { holdsForeignEvents, sameStoredForm } from '../../../src/sink/stored-state.js';
import type { EventForFeatures } from '../../../src/features/index.js';
import type { EntityWork, EventWork } from '../../../src/window/index.js';
import { chunksOf } from '../../helpers/state-chunks.js';

const DAY = 86_400_000;
const FIELDS: StateFields = { profile: ['age'], event: ['amount', 'declined'], lookbackMs: 30 * DAY };

const ev = (id: string, t: number, amount = 1): EventWork => ({
  eventId: id,
  eventTimeMs: t,
  fields: { amount, declined: amount % 3 === 0, card_number: '4111' },
});
const work = (events: EventWork[]): EntityWork => ({
  entityId: '1',
  cdc: null,
  events,
  records: [],
  coalescedCdc: 0,
  duplicateCdc: 0,
  tombstones: 0,
});

/** A stored hash as Redis keeps it: field → value; the COMMIT script's rules for event fields. */
function store(hash: Map<string, string>, s: EntityState, sv: number, pairs: readonly string[]): void {
  hash.set('sv', String(sv));
  hash.set('d', encodeHeader(s));
  for (let i = 0; i < pairs.length; i += 2) {
    const f = pairs[i] as string;
    const v = pairs[i + 1] as string;
    if (v === '') hash.delete(f);
    else hash.set(f, v);
  }
}

/** The hash as HGETALL gives it, in a scrambled order (a hash table's order is not the days'). */
function hgetall(hash: Map<string, string>, turn: number): string[] {
  const entries = [...hash];
  const k = turn % Math.max(1, entries.length);
  return [...entries.slice(k), ...entries.slice(0, k)].reverse().flat();
}

/** What the events of a day field say, independently of the decoder: [id, time] per event. */
function idsIn(text: string): Array<[string, number]> {
  return (JSON.parse(text) as unknown[][]).slice(1).map((r) => [r[0] as string, r[1] as number]);
}

test('state bucket fields: the stored hash always holds exactly the state’s events, each in its chunk of its bucket of days (cut where the event times say), and a write sends only the chunks that changed', () => {
  // Park–Miller: exact in doubles
  let seed = 11;
  const rnd = (n: number) => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed % n;
  };
  const hash = new Map<string, string>();
  let state: EntityState = EMPTY_STATE;
  let sv = 0;
  let now = 1000 * DAY;
  let next = 0;
  let mostChunks = 0;
  for (let round = 0; round < 400; round++) {
    now += rnd(20) === 0 ? rnd(5) * DAY : rnd(3_600_000);
    const events: EventWork[] = [];
    for (let k = rnd(6); k > 0; k--) {
      // mostly new and on time; some late by days, some redelivered
      const t = now - (rnd(5) === 0 ? rnd(35) * DAY : rnd(60_000));
      events.push(rnd(8) === 0 && next > 0 ? ev(`ev${rnd(next)}`, t) : ev(`ev${next++}`, t, rnd(100)));
    }
    const change = applyWork(state, work(events), FIELDS);
    if (change.next === null) continue;
    const pairs = eventFieldWrites(state, change.next.events, FIELDS.event);
    // the fields sent: those whose events differ between the two states' chunks, and those emptied
    const before = chunksOf(state.events);
    const after = chunksOf(change.next.events);
    const changed = new Set<string>();
    for (const [f, ids] of after) if (String(before.get(f)) !== String(ids)) changed.add(f);
    for (const f of before.keys()) if (!after.has(f)) changed.add(f);
    const sent = pairs.filter((_, i) => i % 2 === 0);
    assert.equal(new Set(sent).size, sent.length, `round ${round}: a field sent twice`);
    assert.deepEqual(new Set(sent), changed, `round ${round}: the fields sent`);
    const perBucket = new Map<string, number>();
    for (const f of after.keys()) {
      const b = f.split('.')[0] as string;
      perBucket.set(b, (perBucket.get(b) ?? 0) + 1);
    }
    mostChunks = Math.max(mostChunks, ...perBucket.values());

    sv += 1;
    store(hash, change.next, sv, pairs);
    const stored = new Map<string, string[]>();
    for (const [f, v] of hash)
      if (f.startsWith('e'))
        stored.set(
          f,
          idsIn(v).map(([id, t]) => `${id}@${t}`),
        );
    assert.deepEqual(stored, after, `round ${round}: the stored event fields`);
    const back = decodeStateHash(hgetall(hash, round), FIELDS);
    assert.equal(holdsForeignEvents(back), false, `round ${round}: read back in this writer's form`);
    assert.deepEqual(back.events, change.next.events, `round ${round}: the events read back`);
    state = round % 3 === 0 ? back : { ...change.next, sv };
  }
  assert.ok(next > 800, 'the walk made events');
  assert.ok(mostChunks >= 3, `a bucket was cut in ${mostChunks} chunks at most; the walk must reach 3`);
});

test('state bucket fields: a state stored in the old single `e` field is read whole and moved to bucket fields by its next write', () => {
  const held = [ev('a', 100 * DAY + 5), ev('b', 101 * DAY + 7, 3), ev('c', 101 * DAY + 9)].map((e) => ({
    eventId: e.eventId,
    eventTimeMs: e.eventTimeMs,
    fields: { amount: e.fields.amount as number, declined: e.fields.declined as boolean },
  }));
  const header = JSON.stringify(['7', 0, 101 * DAY + 9, '', {}]);
  const legacy = ['sv', '42', 'd', header, 'p', '{"age":40}', 'e', encodeEvents(held, FIELDS.event)];
  const base = decodeStateHash(legacy, FIELDS);
  assert.equal(holdsForeignEvents(base), true);
  assert.deepEqual(base.events, held);
  assert.deepEqual(base.profile, { age: 40 });

  const change = applyWork(base, work([ev('d', 104 * DAY)]), FIELDS);
  const pairs = eventFieldWrites(base, (change.next as EntityState).events, FIELDS.event);
  assert.deepEqual(
    pairs.filter((_, i) => i % 2 === 0),
    [...chunksOf((change.next as EntityState).events).keys(), 'e'],
    'every chunk written (day 101 + 9 ms cuts), the old field removed',
  );
  const hash = new Map<string, string>();
  for (let i = 0; i < legacy.length; i += 2) hash.set(legacy[i] as string, legacy[i + 1] as string);
  store(hash, change.next as EntityState, 43, pairs);
  assert.equal(hash.has('e'), false);
  const after = decodeStateHash(hgetall(hash, 1), FIELDS);
  assert.equal(holdsForeignEvents(after), false);
  assert.deepEqual(
    after.events.map((e) => e.eventId),
    ['a', 'b', 'c', 'd'],
  );
  // a state derived from a moved one does not move again
  assert.equal(holdsForeignEvents({ ...base }), false);
});

/** The fields whose events differ between two states' chunks (chunksOf), and those that are gone. */
function changedFields(from: EntityState, to: EntityState): Set<string> {
  const before = chunksOf(from.events);
  const after = chunksOf(to.events);
  const out = new Set<string>();
  for (const [f, ids] of after) if (String(before.get(f)) !== String(ids)) out.add(f);
  for (const f of before.keys()) if (!after.has(f)) out.add(f);
  return out;
}

const fieldsSent = (pairs: readonly string[]) => pairs.filter((_, i) => i % 2 === 0);

test('state bucket fields: adding one event to a state holding 30 days writes in its bucket only; a bucket whose events all expired is removed', () => {
  const events: EventWork[] = [];
  for (let d = 0; d < 30; d++) for (let k = 0; k < 4; k++) events.push(ev(`e${d}-${k}`, (100 + d) * DAY + k));
  const full = applyWork(EMPTY_STATE, work(events), FIELDS).next as EntityState;
  assert.equal(full.events.length, 120);
  const one = applyWork(full, work([ev('new', 129 * DAY + 50)]), FIELDS).next as EntityState;
  const sent = eventFieldWrites(full, one.events, FIELDS.event);
  assert.deepEqual(new Set(fieldsSent(sent)), changedFields(full, one));
  assert.deepEqual(fieldsSent(sent), ['e:128'], 'the open chunk of its bucket, the latest event in it');
  // the clock moves on: days 100 and 101 fall out of the 30-day lookback, 102 and 103 stay in their bucket
  const later = applyWork(full, work([ev('later', 131 * DAY + 10)]), FIELDS).next as EntityState;
  const pairs = eventFieldWrites(full, later.events, FIELDS.event);
  assert.deepEqual(new Set(fieldsSent(pairs)), changedFields(full, later));
  assert.ok(
    fieldsSent(pairs).every((f) => f === 'e:128' || f.startsWith('e:100')),
    'the bucket it left and the new event’s',
  );
  const hash = new Map<string, string>();
  store(hash, full, 1, eventFieldWrites(EMPTY_STATE, full.events, FIELDS.event));
  store(hash, later, 2, pairs);
  assert.deepEqual(
    decodeStateHash(hgetall(hash, 3), FIELDS).events.map((e) => e.eventId),
    later.events.map((e) => e.eventId),
  );
  assert.equal(later.events[0]?.eventId, 'e2-0');
  // and when a whole bucket has expired, each of its fields is removed
  const much = applyWork(full, work([ev('much', 134 * DAY + 10)]), FIELDS).next as EntityState;
  const gone = eventFieldWrites(full, much.events, FIELDS.event);
  const bucket100 = [...chunksOf(full.events).keys()].filter((f) => f.split('.')[0] === 'e:100');
  for (const f of bucket100) assert.equal(gone[gone.indexOf(f) + 1], '', `${f} removed`);
  assert.deepEqual(eventFieldWrites(full, full.events, FIELDS.event), [], 'no change, nothing sent');
});

test('state bucket fields: a busy bucket is cut in chunks where its event times say; a new event, an expired one or a late one rewrites its own chunk only', () => {
  // 300 events a minute apart in days 200–201 (one bucket)
  const events: EventWork[] = [];
  for (let k = 0; k < 300; k++) events.push(ev(`b${String(k).padStart(3, '0')}`, 200 * DAY + k * 60_000));
  const busy = applyWork(EMPTY_STATE, work(events), FIELDS).next as EntityState;
  const first = eventFieldWrites(EMPTY_STATE, busy.events, FIELDS.event);
  const expected = chunksOf(busy.events);
  assert.ok(expected.size >= 4, `300 events are cut in ${expected.size} chunks`);
  assert.deepEqual(new Set(fieldsSent(first)), new Set(expected.keys()));
  const hash = new Map<string, string>();
  store(hash, busy, 1, first);

  const step = (from: EntityState, add: EventWork[], what: string, most: number): EntityState => {
    const to = applyWork(from, work(add), FIELDS).next as EntityState;
    const pairs = eventFieldWrites(from, to.events, FIELDS.event);
    assert.deepEqual(new Set(fieldsSent(pairs)), changedFields(from, to), what);
    assert.ok(fieldsSent(pairs).length <= most, `${what}: ${fieldsSent(pairs).length} fields sent`);
    store(hash, to, to.sv + 1, pairs);
    const back = decodeStateHash(hgetall(hash, to.events.length), FIELDS);
    assert.equal(holdsForeignEvents(back), false, what);
    assert.deepEqual(back.events, to.events, what);
    return { ...to, sv: to.sv + 1 };
  };
  // on time: the open chunk (and the chunk it closes, if its time cuts)
  let s = step(busy, [ev('c-next', 200 * DAY + 300 * 60_000)], 'an event after the others', 2);
  // 30 days on: the first events expire, and the new event opens a bucket of its own
  s = step(s, [ev('d-month', 230 * DAY + 10 * 60_000 + 1)], 'the first eleven expire', 3);
  assert.equal(s.events[0]?.eventId, 'b011');
  // late, into the middle
  s = step(s, [ev('b150-late', 200 * DAY + 150 * 60_000 + 1)], 'a late event', 2);
  assert.equal(s.events.length, 292);
});

test('state bucket fields: a hash of a busy bucket in one field (before chunks), in chunks cut by position (e489db0) or with an empty field is not this writer’s form: read whole, rewritten in chunks', () => {
  const events: EventWork[] = [];
  for (let k = 0; k < 100; k++) events.push(ev(`b${String(k).padStart(3, '0')}`, 200 * DAY + k * 60_000));
  const busy = applyWork(EMPTY_STATE, work(events), FIELDS).next as EntityState;
  assert.ok(chunksOf(busy.events).size >= 2, 'the bucket has a cut');
  const head: Array<[string, string]> = [
    ['sv', '5'],
    ['d', encodeHeader({ ...busy, sv: 5 })],
  ];
  const whole = new Map([...head, ['e:200', encodeEvents(busy.events, FIELDS.event)]]);
  const byPosition = new Map(head);
  for (let k = 0; k * 32 < busy.events.length; k++)
    byPosition.set(
      k === 0 ? 'e:200' : `e:200.${k}`,
      encodeEvents(busy.events.slice(k * 32, k * 32 + 32), FIELDS.event),
    );
  const own = new Map(head);
  store(own, busy, 5, eventFieldWrites(EMPTY_STATE, busy.events, FIELDS.event));
  const withEmpty = new Map([...own, ['e:204', encodeEvents([], FIELDS.event)]]);
  assert.equal(holdsForeignEvents(decodeStateHash(hgetall(own, 1), FIELDS)), false, 'this writer’s form');
  for (const [what, hash] of [
    ['one field', whole],
    ['cut by position', byPosition],
    ['an empty field', withEmpty],
  ] as const) {
    const base = decodeStateHash(hgetall(hash, 2), FIELDS);
    assert.equal(holdsForeignEvents(base), true, what);
    assert.deepEqual(base.events, busy.events, what);
    const next = applyWork(base, work([ev('new', 201 * DAY + 5)]), FIELDS).next as EntityState;
    const after = new Map(hash);
    store(after, next, 6, eventFieldWrites(base, next.events, FIELDS.event));
    const stored = new Map<string, string[]>();
    for (const [f, v] of after)
      if (f.startsWith('e'))
        stored.set(
          f,
          idsIn(v).map(([id, t]) => `${id}@${t}`),
        );
    assert.deepEqual(stored, chunksOf(next.events), `${what}: rewritten in chunks`);
    assert.equal(holdsForeignEvents(decodeStateHash(hgetall(after, 1), FIELDS)), false, what);
  }
});

test('state bucket fields: events whose times are not finite numbers keep a field of their own, and nothing is lost when the list is out of order', () => {
  const e = (id: string, t: number): EventForFeatures => ({
    eventId: id,
    eventTimeMs: t,
    fields: { amount: 1 },
  });
  const base: EntityState = {
    ...EMPTY_STATE,
    sv: 1,
    events: [e('a', 100 * DAY), e('n', Number.NaN), e('b', 100 * DAY + 1)],
  };
  const next = [...base.events, e('c', 104 * DAY)];
  const pairs = eventFieldWrites(base, next, ['amount']);
  assert.deepEqual(
    pairs.filter((_, i) => i % 2 === 0),
    ['e:104'],
  );
  const [a, n, b] = base.events as [EventForFeatures, EventForFeatures, EventForFeatures];
  assert.equal(a.eventId, 'a');
  const moved = eventFieldWrites(base, [b, n], ['amount']);
  assert.deepEqual(
    moved,
    ['e:100', encodeEvents([b], ['amount'])],
    'bucket 100 lost one event; the other field is as it was',
  );
  const fresh = eventFieldWrites(EMPTY_STATE, base.events, ['amount']);
  assert.deepEqual(
    fresh.filter((_, i) => i % 2 === 0),
    ['e:100', 'e:none'],
  );
});

test('state bucket fields: a hash in any other form (the old field next to buckets, another bucket width, another event field list, an event held twice) is read as the union and rewritten whole at its next event write', () => {
  const names = JSON.stringify(FIELDS.event);
  const row = (id: string, t: number, amount: number) => `[${JSON.stringify(id)},${t},${amount},false]`;
  const head = ['sv', '42', 'd', JSON.stringify(['7', 0, 101 * DAY + 9, '', {}])];
  const decodeMap = (hash: Map<string, string>) => decodeStateHash([...hash].flat(), FIELDS);

  // this writer's own form: not marked
  const own = new Map([
    ['sv', '42'],
    ['d', head[3] as string],
    ['e:100', `[${names},${row('a', 100 * DAY, 1)},${row('b', 101 * DAY, 2)}]`],
  ]);
  assert.equal(holdsForeignEvents(decodeMap(own)), false);

  const forms: Array<[string, Map<string, string>]> = [
    // an older version wrote `e` (with the event it saw) next to the buckets it could not read
    ['the old field next to buckets', new Map([...own, ['e', `[${names},${row('c', 101 * DAY + 5, 3)}]`]])],
    // one field per day (another bucket width)
    [
      'another bucket width',
      new Map([
        ['sv', '42'],
        ['d', head[3] as string],
        ['e:100', `[${names},${row('a', 100 * DAY, 1)}]`],
        ['e:101', `[${names},${row('b', 101 * DAY, 2)},${row('c', 101 * DAY + 5, 3)}]`],
      ]),
    ],
    // stored under a spec that read other event fields
    [
      'another event field list',
      new Map([
        ['sv', '42'],
        ['d', head[3] as string],
        ['e:100', `[["amount"],["a",${100 * DAY},1],["b",${101 * DAY},2],["c",${101 * DAY + 5},3]]`],
      ]),
    ],
    // the same event in two fields
    [
      'an event held twice',
      new Map([...own, ['e', `[${names},${row('b', 101 * DAY, 2)},${row('c', 101 * DAY + 5, 3)}]`]]),
    ],
  ];
  for (const [what, hash] of forms) {
    const base = decodeMap(hash);
    assert.equal(holdsForeignEvents(base), true, what);
    assert.deepEqual(
      base.events.map((e) => e.eventId),
      ['a', 'b', 'c'],
      `${what}: every event once`,
    );
    // a write that leaves the events alone keeps the mark on the state it caches
    assert.equal(holdsForeignEvents(sameStoredForm(base, { ...base, sv: 43 })), true, what);
    const change = applyWork(base, work([ev('d', 104 * DAY)]), FIELDS);
    const pairs = eventFieldWrites(base, (change.next as EntityState).events, FIELDS.event);
    const after = new Map(hash);
    store(after, change.next as EntityState, 43, pairs);
    assert.deepEqual(
      [...after.keys()].filter((f) => f.startsWith('e')).sort(),
      ['e:100', 'e:104'],
      `${what}: only this writer's buckets are left`,
    );
    const back = decodeMap(after);
    assert.equal(holdsForeignEvents(back), false, what);
    assert.deepEqual(
      back.events.map((e) => [e.eventId, e.fields.amount]),
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 1],
      ],
      what,
    );
  }
});
