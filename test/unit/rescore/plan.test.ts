import assert from 'node:assert/strict';
import test from 'node:test';
import {
  chunkOfBatch,
  planRescore,
  planTimer,
  rescoreBatchId,
  rescoreTrigger,
} from '../../../src/rescore/index.js';
import type { RescoreView } from '../../../src/rescore/index.js';
import type { EntityState, StoredPrediction } from '../../../src/sink/index.js';

const NEW = 'b'.repeat(64);
const OLD = 'a'.repeat(64);

const state = (over: Partial<EntityState> = {}): EntityState => ({
  sv: 7,
  pv: 7,
  lsn: '100',
  deleted: false,
  clock: 1000,
  trigger: 'in/0/41',
  profile: { plan: 'basic' },
  events: [],
  applied: { 'in/0': '41' },
  ...over,
});

const stored = (over: Partial<StoredPrediction> = {}): StoredPrediction => ({
  entity_id: '1',
  deleted: false,
  score: 0.5,
  tier: 'low',
  model_name: 'churn',
  model_version: '2',
  model_sha256: OLD,
  training_run_id: 'r',
  feature_version: 'f@1',
  features: [1],
  as_of: 1000,
  scored_at: 2000,
  valid_until: null,
  batch_id: 'b-1',
  trigger_topic: 'in',
  trigger_partition: 0,
  trigger_offset: '41',
  version: 7,
  ...over,
});

const view = (over: Partial<RescoreView> = {}): RescoreView => ({
  kind: 'rescore',
  modelSha256: NEW,
  job: 'j',
  committedChunks: 3,
  inputCommitted: () => 42n,
  ...over,
});

test('batch ids and triggers of a job: the chunk reads back; other batches are not the job’s', () => {
  assert.equal(chunkOfBatch('j', rescoreBatchId('j', 12)), 12);
  assert.equal(chunkOfBatch('j', rescoreBatchId('j2', 12)), null);
  assert.equal(chunkOfBatch('j', 'rescore-j-x'), null);
  assert.equal(chunkOfBatch('j', 'in-0-41'), null);
  // never the text of an input record (topic/partition/offset), so a window never re-emits it
  assert.doesNotMatch(rescoreTrigger('j', 3), /^[^/]+\/\d+\/\d+$/);
});

test('an entity scored by another model, its window committed: score', () => {
  assert.equal(planRescore(state(), stored(), view()), 'score');
});

test('an entity already scored by the model (this job or the live stream): current', () => {
  assert.equal(planRescore(state(), stored({ model_sha256: NEW }), view()), 'current');
  assert.equal(
    planRescore(state(), stored({ model_sha256: NEW, batch_id: rescoreBatchId('j', 2) }), view()),
    'current',
  );
});

test('this job wrote it in a chunk that never committed: re-emit the stored prediction, do not score again', () => {
  const s = stored({ model_sha256: NEW, batch_id: rescoreBatchId('j', 3) });
  assert.equal(planRescore(state({ trigger: rescoreTrigger('j', 3) }), s, view()), 'reemit');
  // once the live stream wrote a newer state, that stored prediction is not the state's any more
  assert.equal(planRescore(state({ sv: 9, pv: 0, trigger: '' }), s, view()), 'score');
});

test('the window behind the prediction has not committed: pending (left to that window)', () => {
  assert.equal(planRescore(state(), stored({ trigger_offset: '42' }), view()), 'pending');
  assert.equal(planRescore(state(), stored(), view({ inputCommitted: () => null })), 'pending');
  assert.equal(planRescore(state(), stored({ trigger_offset: '41' }), view()), 'score');
});

test('no state, deleted, or no profile: not live', () => {
  assert.equal(planRescore(state({ sv: 0 }), null, view()), 'not_live');
  assert.equal(planRescore(state({ deleted: true, profile: null }), stored(), view()), 'not_live');
  assert.equal(planRescore(state({ profile: null }), null, view()), 'not_live');
});

test('a state newer than its prediction (a refused score, or none stored): score', () => {
  assert.equal(planRescore(state({ sv: 9, pv: 0, trigger: '' }), stored(), view()), 'score');
  assert.equal(planRescore(state(), null, view()), 'score');
});

test('timer and rescore batches are apart: a timer chunk is not a rescore chunk of the same job id', () => {
  assert.equal(chunkOfBatch('j', rescoreBatchId('j', 4, 'timer'), 'timer'), 4);
  assert.equal(chunkOfBatch('j', rescoreBatchId('j', 4, 'timer')), null);
  assert.equal(chunkOfBatch('j', rescoreBatchId('j', 4), 'timer'), null);
  assert.match(rescoreTrigger('j', 4, 'timer'), /^timer:j:4$/);
});

test('planTimer: due entities are scored; not due, not live, other model and pending ones are left', () => {
  const tv = (over: Partial<RescoreView> = {}) => view({ kind: 'timer', modelSha256: OLD, ...over });
  // its own prediction, the window behind it committed (input 41 < committed 42), a window changed: score
  assert.equal(planTimer(state(), stored(), tv(), 5000), 'score');
  assert.equal(planTimer(state(), stored(), tv(), null), 'not_due');
  assert.equal(planTimer(state({ profile: null }), stored(), tv(), 5000), 'not_live');
  assert.equal(planTimer(state({ deleted: true }), stored(), tv(), 5000), 'not_live');
  assert.equal(planTimer(state({ sv: 0 }), null, tv(), 5000), 'not_live');
  // a promotion since the sweep started: never an older model over a newer one
  assert.equal(planTimer(state(), stored({ model_sha256: NEW }), tv(), 5000), 'other_model');
  // the window behind the prediction has not committed yet
  assert.equal(planTimer(state(), stored({ trigger_offset: '42' }), tv(), 5000), 'pending');
  // no prediction yet (state only): score with the timer's model
  assert.equal(planTimer(state({ pv: 0 }), null, tv(), 5000), 'score');
});

test('planTimer: a chunk of this job that never committed is re-emitted, due or not; a committed one is not', () => {
  const tv = view({ kind: 'timer', modelSha256: OLD });
  const mine = stored({ batch_id: rescoreBatchId('j', 3, 'timer') });
  assert.equal(planTimer(state({ trigger: rescoreTrigger('j', 3, 'timer') }), mine, tv, null), 'reemit');
  const committed = stored({ batch_id: rescoreBatchId('j', 2, 'timer') });
  assert.equal(planTimer(state(), committed, tv, null), 'not_due');
  // a rescore chunk of the same job id is another job's
  const rescoreChunk = stored({ batch_id: rescoreBatchId('j', 3) });
  assert.equal(planTimer(state(), rescoreChunk, tv, null), 'not_due');
});
