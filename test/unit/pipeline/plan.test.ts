import assert from 'node:assert/strict';
import test from 'node:test';
import { countPlans, planEntity } from '../../../src/pipeline/plan.js';
import { EMPTY_STATE } from '../../../src/sink/index.js';
import type { EntityState, StateFields } from '../../../src/sink/index.js';
import type { EntityWork } from '../../../src/window/index.js';

const FIELDS: StateFields = { profile: ['age'], event: ['amount'], lookbackMs: 30 * 86_400_000 };
const rec = (offset: number) => ({ topic: 'cdc', partition: 0, offset: String(offset) });
const up = (lsn: string, offsets: number[]): EntityWork => ({
  entityId: '1',
  cdc: { op: 'upsert', version: lsn, profile: { age: 30 }, timeMs: 5 },
  events: [],
  records: offsets.map(rec),
  coalescedCdc: offsets.length - 1,
  duplicateCdc: 0,
  tombstones: 0,
});
const events = (ids: string[], offsets: number[]): EntityWork => ({
  entityId: '1',
  cdc: null,
  events: ids.map((id) => ({ eventId: id, eventTimeMs: 1000, fields: { amount: 1 } })),
  records: offsets.map(rec),
  coalescedCdc: 0,
  duplicateCdc: 0,
  tombstones: 0,
});

/** An entity whose state and prediction (written together, version 5) came from record cdc/0/7. */
const applied: EntityState = {
  ...EMPTY_STATE,
  sv: 5,
  pv: 5,
  lsn: '10',
  profile: { age: 30 },
  trigger: 'cdc/0/7',
};

test('plan: a change with a profile is scored, a delete deleted, no profile yet is state only', () => {
  assert.equal(planEntity(up('10', [1]), EMPTY_STATE, FIELDS, -1n).action, 'score');
  const del = { ...up('11', [2]), cdc: { op: 'delete' as const, version: '11', timeMs: 6 } };
  assert.equal(planEntity(del, applied, FIELDS, -1n).action, 'delete');
  assert.equal(planEntity(events(['a'], [3]), EMPTY_STATE, FIELDS, -1n).action, 'state');
  const eventsOnly: EntityState = {
    ...EMPTY_STATE,
    sv: 3,
    events: [{ eventId: 'a', eventTimeMs: 1000, fields: {} }],
  };
  assert.equal(planEntity(events(['a'], [3]), eventsOnly, FIELDS, -1n).action, 'no_profile');
});

test('plan: a window already applied re-emits only when its stored prediction came from it and is not committed', () => {
  assert.equal(planEntity(up('10', [6, 7]), applied, FIELDS, 5n).action, 'reemit');
  assert.equal(planEntity(up('10', [6, 7]), applied, FIELDS, 7n).action, 'unchanged', 'already committed');
  assert.equal(planEntity(up('10', [8]), applied, FIELDS, 5n).action, 'unchanged', 'another record wrote it');
  // state stored without its prediction (an earlier attempt): the prediction is still owed
  assert.equal(planEntity(up('10', [7]), { ...applied, pv: 4 }, FIELDS, 5n).action, 'score');
});

test('plan counts: every record in exactly one bucket', () => {
  const plans = [
    planEntity(up('10', [1, 2, 3]), EMPTY_STATE, FIELDS, -1n),
    planEntity(events(['a', 'b'], [4, 5]), EMPTY_STATE, FIELDS, -1n),
    planEntity(up('10', [8]), applied, FIELDS, 5n),
  ];
  // the third is a redelivery of the change the state already holds (same CDC position): a duplicate too
  assert.deepEqual(countPlans(plans), {
    coalesced: 3,
    scored: 1,
    deleted: 0,
    unchanged: 1,
    no_profile: 1,
    duplicates: 1,
  });
});
