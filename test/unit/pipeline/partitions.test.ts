import assert from 'node:assert/strict';
import test from 'node:test';
import type { TopicPartition, TransactionalProducer } from '../../../src/adapters/kafka-io.js';
import { PartitionLifecycle, tpKey } from '../../../src/pipeline/partitions.js';
import type { PartitionProgress } from '../../../src/pipeline/partitions.js';
import type { PartitionContext } from '../../../src/pipeline/types.js';

const tp: TopicPartition = { topic: 'in', partition: 3 };
const key = tpKey(tp);
const tick = () => new Promise((r) => setImmediate(r));

/** A lifecycle whose producers are numbered, with what was opened (and from which progress) and closed. */
function harness() {
  const opened: Array<{ id: number; previous: PartitionProgress | undefined }> = [];
  const closed: number[] = [];
  let beats = 0;
  const heartbeat = async () => {
    beats += 1;
  };
  const lifecycle = new PartitionLifecycle(async (_tp, firstOffset, previous) => {
    const id = opened.length + 1;
    opened.push({ id, previous });
    const producer = {
      transactionalId: `p${id}`,
      begin: () => Promise.reject(new Error('unused')),
      close: async () => {
        closed.push(id);
      },
    } as TransactionalProducer;
    const ctx: PartitionContext = {
      tp,
      producer,
      committedMarker: firstOffset - 1n,
      committedHere: previous?.committedHere ?? -1n,
      markCommitted: async () => undefined,
      refreshMarker: async () => -1n,
    };
    return ctx;
  });
  return { lifecycle, opened, closed, heartbeat, beats: () => beats };
}

test('a reassignment gives even a partition the member had before a fresh producer, carrying its progress', async () => {
  const h = harness();
  h.lifecycle.assign([tp]);
  const first = await h.lifecycle.context(tp, 10n, h.heartbeat);
  assert.equal(await h.lifecycle.context(tp, 10n, h.heartbeat), first, 'same context within a generation');
  first.committedHere = 42n;
  first.committedMarker = 42n;

  h.lifecycle.assign([tp]); // e.g. the member was out of the group meanwhile and got the partition back
  await tick();
  assert.deepEqual(h.closed, [1], 'the old producer is closed');
  const second = await h.lifecycle.context(tp, 43n, h.heartbeat);
  assert.notEqual(second.producer, first.producer);
  assert.deepEqual(h.opened[1]?.previous, { committedHere: 42n, committedMarker: 42n });
  assert.equal(second.committedHere, 42n);
});

test('a producer is opened only after a heartbeat proved membership; a failed heartbeat opens none', async () => {
  const h = harness();
  h.lifecycle.assign([tp]);
  await assert.rejects(
    h.lifecycle.context(tp, 0n, () => Promise.reject(new Error('UNKNOWN_MEMBER_ID'))),
    /UNKNOWN_MEMBER_ID/,
  );
  assert.equal(h.opened.length, 0);
  await h.lifecycle.context(tp, 0n, h.heartbeat);
  assert.equal(h.opened.length, 1);
  assert.equal(h.beats(), 1);
});

test('a retired producer is closed only after the batch using it is done', async () => {
  const h = harness();
  h.lifecycle.assign([tp]);
  let finish = () => undefined as void;
  const running = h.lifecycle.run(key, async () => {
    await h.lifecycle.context(tp, 0n, h.heartbeat);
    h.lifecycle.assign([tp]); // a rebalance while the batch commits with the old producer
    await new Promise<void>((r) => (finish = r));
  });
  await tick();
  await tick();
  assert.deepEqual(h.closed, [], 'not closed under a running batch');
  finish();
  await running;
  await tick();
  assert.deepEqual(h.closed, [1]);
});

test('after a fence no producer is opened until a new assignment or two heartbeats in the same generation', async () => {
  const h = harness();
  h.lifecycle.assign([tp]);
  await h.lifecycle.context(tp, 0n, h.heartbeat);
  const generation = h.lifecycle.generation;
  h.lifecycle.fence(key, generation, 5);
  await tick();
  assert.deepEqual(h.closed, [1], 'the fenced producer is closed, never reused');
  assert.equal(h.lifecycle.fenced(key, 5), true);
  assert.equal(h.lifecycle.fenced(key, 6), true, 'one heartbeat may have been sent before the fence');
  assert.equal(
    h.lifecycle.fenced(key, 7),
    false,
    'the second one proves the member still owns the partition',
  );

  h.lifecycle.fence(key, generation, 7);
  h.lifecycle.assign([tp]);
  assert.equal(h.lifecycle.fenced(key, 7), false, 'a new assignment lifts the fence');

  // a window of an earlier generation fenced after the reassignment: the reassignment already made it safe
  h.lifecycle.fence(key, generation, 7);
  assert.equal(h.lifecycle.fenced(key, 7), false);
});

test('closeNow closes every producer once, retired ones included, without waiting for a stuck batch', async () => {
  const h = harness();
  const other = { topic: 'in', partition: 4 };
  h.lifecycle.assign([tp, other]);
  await h.lifecycle.context(tp, 0n, h.heartbeat);
  await h.lifecycle.context(other, 0n, h.heartbeat);
  // a batch of the other partition that never ends (a send retrying a broker that went away)
  void h.lifecycle.run(tpKey(other), () => new Promise<void>(() => undefined));
  h.lifecycle.retire(key);
  await h.lifecycle.closeNow();
  assert.deepEqual([...h.closed].sort(), [1, 2]);
  await h.lifecycle.closeNow();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.closed.length, 2, 'each producer closed once');
});

test('idle resolves once no batch runs', async () => {
  const h = harness();
  let release = () => undefined as void;
  void h.lifecycle.run(key, () => new Promise<void>((r) => (release = r)));
  let idle = false;
  const waiting = h.lifecycle.idle().then(() => (idle = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(idle, false, 'a batch runs');
  release();
  await waiting;
  assert.equal(idle, true);
});
