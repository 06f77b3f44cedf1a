import assert from 'node:assert/strict';
import test from 'node:test';
import type { Decoded } from '../../../src/decode/types.js';
import { groupByEntity, splitIntoWindows, windowLimits } from '../../../src/window/index.js';

const rec = (n: number) => ({ key: Buffer.alloc(1), value: Buffer.alloc(n - 1) });

test('windows close on max records or max bytes, whichever comes first; order is kept', () => {
  const records = Array.from({ length: 10 }, () => rec(10));
  assert.deepEqual(
    splitIntoWindows(records, { maxRecords: 4, maxBytes: 1000 }).map((w) => w.length),
    [4, 4, 2],
  );
  assert.deepEqual(
    splitIntoWindows(records, { maxRecords: 100, maxBytes: 35 }).map((w) => w.length),
    [3, 3, 3, 1],
  );
  // a record larger than maxBytes is a window of its own, never dropped
  const big = [rec(10), rec(500), rec(10)];
  assert.deepEqual(
    splitIntoWindows(big, { maxRecords: 100, maxBytes: 50 }).map((w) => w.length),
    [1, 1, 1],
  );
  assert.equal(splitIntoWindows(records, { maxRecords: 3, maxBytes: 1e6 }).flat().length, 10);
});

const ref = (offset: number) => ({ topic: 'cdc', partition: 0, offset: String(offset) });
function cdc(id: string, op: 'c' | 'u' | 'd', lsn: number, extra: Record<string, unknown> = {}): Decoded {
  return {
    kind: 'cdc',
    op,
    entityId: id,
    before: op === 'c' ? null : { id },
    after: op === 'd' ? null : { id, ...extra },
    lsn: String(lsn),
    sourceTsMs: lsn,
    tsMs: lsn,
    snapshot: null,
    table: 'customers',
  };
}

test('an entity touched many times in a window is applied once, on its latest CDC change', () => {
  const work = groupByEntity([
    { ref: ref(1), decoded: cdc('1', 'c', 10, { age: 30 }) },
    { ref: ref(2), decoded: cdc('2', 'c', 11) },
    { ref: ref(3), decoded: cdc('1', 'u', 12, { age: 31 }) },
    {
      ref: ref(4),
      decoded: { kind: 'event', entityId: '1', eventId: 'e1', eventTimeMs: 5, fields: { amount: 1 } },
    },
  ]);
  assert.equal(work.length, 2);
  const one = work.find((w) => w.entityId === '1');
  assert.ok(one);
  assert.deepEqual(one.cdc, { op: 'upsert', version: '12', profile: { id: '1', age: 31 }, timeMs: 12 });
  assert.equal(one.coalescedCdc, 1);
  assert.equal(one.duplicateCdc, 0);
  assert.equal(one.events.length, 1);
  assert.deepEqual(
    one.records.map((r) => r.offset),
    ['1', '3', '4'],
  );
});

test('delete then tombstone keeps the delete and its LSN; a tombstone after an upsert deletes at that LSN', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('9', 'u', 20) },
    { ref: ref(2), decoded: cdc('9', 'd', 21) },
    { ref: ref(3), decoded: { kind: 'tombstone', entityId: '9' } },
  ]);
  assert.deepEqual(w?.cdc, { op: 'delete', version: '21', timeMs: 21 });
  assert.equal(w?.tombstones, 1);
  const [u] = groupByEntity([
    { ref: ref(1), decoded: cdc('9', 'u', 30) },
    { ref: ref(2), decoded: { kind: 'tombstone', entityId: '9' } },
  ]);
  assert.deepEqual(u?.cdc, { op: 'delete', version: '30', timeMs: 30 });
  const [t] = groupByEntity([{ ref: ref(1), decoded: { kind: 'tombstone', entityId: '9' } }]);
  assert.deepEqual(t?.cdc, { op: 'tombstone' });
});

test('a re-insert after a delete in the same window wins', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('5', 'd', 40) },
    { ref: ref(2), decoded: { kind: 'tombstone', entityId: '5' } },
    { ref: ref(3), decoded: cdc('5', 'c', 41, { age: 50 }) },
  ]);
  assert.deepEqual(w?.cdc, { op: 'upsert', version: '41', profile: { id: '5', age: 50 }, timeMs: 41 });
});

test('a stale redelivery read after a newer change of the same window does not hide it', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('7', 'u', 1000, { age: 40 }) },
    { ref: ref(2), decoded: cdc('7', 'u', 999, { age: 39 }) },
  ]);
  assert.deepEqual(w?.cdc, { op: 'upsert', version: '1000', profile: { id: '7', age: 40 }, timeMs: 1000 });
  assert.equal(w?.coalescedCdc, 1);
  assert.deepEqual(
    w?.records.map((r) => r.offset),
    ['1', '2'],
  );
});

test('adaptive windows: larger only when the fetched batch holds more than maxRecords', () => {
  const w = { maxRecords: 5000, maxBytes: 4 << 20 };
  assert.deepEqual(windowLimits(5000, w), { maxRecords: 5000, maxBytes: 4 << 20 }, 'keeping up');
  assert.deepEqual(windowLimits(5001, w), { maxRecords: 20000, maxBytes: 4 << 20 }, 'behind: 4x by default');
  assert.equal(windowLimits(9000, { ...w, maxRecordsBehind: 5000 }).maxRecords, 5000, 'fixed-size windows');
  const records = Array.from({ length: 12_000 }, () => rec(100));
  assert.deepEqual(
    splitIntoWindows(records, windowLimits(records.length, { maxRecords: 1000, maxBytes: 1e9 })).map(
      (x) => x.length,
    ),
    [4000, 4000, 4000],
  );
});

test('a change delivered twice in one window is coalesced and counted as a duplicate', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('5', 'u', 40, { age: 50 }) },
    { ref: ref(2), decoded: cdc('5', 'u', 40, { age: 50 }) },
    { ref: ref(3), decoded: cdc('5', 'u', 41, { age: 51 }) },
  ]);
  assert.equal(w?.coalescedCdc, 2);
  assert.equal(w?.duplicateCdc, 1);
  assert.deepEqual(w?.cdc, { op: 'upsert', version: '41', profile: { id: '5', age: 51 }, timeMs: 41 });
});

test('a TOASTed column a newer change of the window left unchanged keeps the older change value', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('8', 'u', 50, { age: 40, segment: 'mass' }) },
    { ref: ref(2), decoded: cdc('8', 'u', 51, { age: 41, segment: '__debezium_unavailable_value' }) },
  ]);
  assert.deepEqual(w?.cdc, {
    op: 'upsert',
    version: '51',
    profile: { id: '8', age: 41, segment: 'mass' },
    timeMs: 51,
  });
});

test('two changes of a window that both leave a TOASTed column unchanged keep the placeholder for the stored row to fill', () => {
  const [w] = groupByEntity([
    { ref: ref(1), decoded: cdc('8', 'u', 50, { age: 40, segment: '__debezium_unavailable_value' }) },
    { ref: ref(2), decoded: cdc('8', 'u', 51, { age: 41, segment: '__debezium_unavailable_value' }) },
  ]);
  assert.deepEqual(w?.cdc, {
    op: 'upsert',
    version: '51',
    profile: { id: '8', age: 41, segment: '__debezium_unavailable_value' },
    timeMs: 51,
  });
});
