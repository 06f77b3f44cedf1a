import assert from 'node:assert/strict';
import test from 'node:test';
import { rangeOf, rebuildState, windowRanges } from '../../../src/admin/verify-deep.js';
import type { AuditEventV1 } from '../../../src/emit/index.js';
import type { DecodedRecord } from '../../../src/window/index.js';
import type { StateFields } from '../../../src/sink/index.js';

const DAY = 86_400_000;
const FIELDS: StateFields = { profile: ['age'], event: ['amount'], lookbackMs: 30 * DAY };

const audit = (topic: string, partition: number, first: number, last: number) =>
  ({ inputs: [{ topic, partition, first_offset: first, last_offset: last }] }) as unknown as AuditEventV1;

const row = (offset: number, lsn: string, age: number): DecodedRecord => ({
  ref: { topic: 'cdc', partition: 1, offset: String(offset) },
  decoded: {
    kind: 'cdc',
    op: 'u',
    entityId: '7',
    before: null,
    after: { id: 7, age },
    lsn,
    sourceTsMs: 1000,
    tsMs: 1000,
    snapshot: null,
    table: 'customers',
  },
});
const event = (offset: number, id: string, day: number, amount: number): DecodedRecord => ({
  ref: { topic: 'tx', partition: 1, offset: String(offset) },
  decoded: { kind: 'event', entityId: '7', eventId: id, eventTimeMs: day * DAY, fields: { amount } },
});

test('windowRanges / rangeOf: the committed windows of a partition in offset order, found by offset', () => {
  const ranges = windowRanges([
    audit('tx', 1, 10, 19),
    audit('tx', 1, 0, 9),
    audit('cdc', 1, 0, 4),
    audit('tx', 1, 30, 39),
  ]);
  assert.deepEqual(ranges.get('tx/1'), [
    [0n, 9n],
    [10n, 19n],
    [30n, 39n],
  ]);
  const tx = ranges.get('tx/1') ?? [];
  assert.equal(rangeOf(tx, 0n), 0);
  assert.equal(rangeOf(tx, 15n), 1);
  assert.equal(rangeOf(tx, 39n), 2);
  assert.equal(rangeOf(tx, 25n), -1, 'a gap: no committed window holds it');
  assert.equal(rangeOf(tx, 40n), -1);
});

test('rebuildState: only records up to the basis offset of their partition, inside committed windows, the newest row wins', () => {
  const ranges = windowRanges([audit('cdc', 1, 0, 9), audit('tx', 1, 0, 4), audit('tx', 1, 5, 9)]);
  const records = [
    row(2, '100', 30),
    row(6, '200', 31),
    row(8, '300', 32), // past the basis
    event(1, 'a', 100, 5),
    event(3, 'b', 101, 7),
    event(6, 'c', 102, 11), // past the basis
    event(12, 'd', 102, 13), // in no committed window
  ];
  const basis = new Map([
    ['cdc/1', 6n],
    ['tx/1', 3n],
  ]);
  const s = rebuildState(records, basis, ranges, FIELDS);
  assert.deepEqual(s.profile, { age: 31 });
  assert.equal(s.lsn, '200');
  assert.deepEqual(
    s.events.map((e) => e.eventId),
    ['a', 'b'],
  );
  assert.equal(s.clock, 101 * DAY);
  assert.deepEqual(
    s.applied,
    { 'cdc/1': '6', 'tx/1': '3' },
    'the rebuilt state has the basis it was rebuilt to',
  );
  // the partition order does not matter (CDC rows follow only their own partition)
  const reversed = rebuildState([...records].reverse(), basis, ranges, FIELDS);
  assert.deepEqual({ ...reversed, sv: 0 }, { ...s, sv: 0 });
  // a partition not in the basis contributes nothing
  const noEvents = rebuildState(records, new Map([['cdc/1', 9n]]), ranges, FIELDS);
  assert.deepEqual(noEvents.events, []);
  assert.equal(noEvents.lsn, '300');
});

test('rebuildState: records of one window coalesce as in the pipeline (a delete then a re-insert in one window)', () => {
  const ranges = windowRanges([audit('cdc', 1, 0, 9)]);
  const del: DecodedRecord = {
    ref: { topic: 'cdc', partition: 1, offset: '3' },
    decoded: { ...(row(3, '150', 0).decoded as object), op: 'd', after: null } as DecodedRecord['decoded'],
  };
  const s = rebuildState(
    [row(2, '100', 30), del, row(4, '160', 40)],
    new Map([['cdc/1', 4n]]),
    ranges,
    FIELDS,
  );
  assert.equal(s.deleted, false);
  assert.deepEqual(s.profile, { age: 40 });
  const deleted = rebuildState([row(2, '100', 30), del], new Map([['cdc/1', 3n]]), ranges, FIELDS);
  assert.equal(deleted.deleted, true);
});
