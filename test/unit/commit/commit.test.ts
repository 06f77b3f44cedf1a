import assert from 'node:assert/strict';
import test from 'node:test';
import type { OutputTransaction, TransactionalProducer } from '../../../src/adapters/kafka-io.js';
import { commitWindow } from '../../../src/commit/index.js';
import type { CommitRequest, TransactionPhase } from '../../../src/commit/index.js';

/** A commit request whose steps write into `log`; `failAt` names the step that throws. */
function request(log: string[], failAt?: string, phaseTimed?: CommitRequest['phaseTimed']): CommitRequest {
  const step = (name: string) => async () => {
    log.push(name);
    if (name === failAt) throw new Error(`${name} failed`);
  };
  const tx: OutputTransaction = {
    sendAll: step('send'),
    sendOffsets: step('offsets'),
    commit: step('commit'),
    abort: step('abort'),
  };
  const producer: TransactionalProducer = {
    transactionalId: 'g.t.0',
    begin: async () => {
      await step('begin')();
      return tx;
    },
    close: async () => {},
  };
  return {
    writeRedis: step('redis'),
    outputs: () => {
      log.push('outputs');
      return [];
    },
    producer,
    groupId: 'g',
    input: { topic: 't', partition: 0 },
    nextOffset: '10',
    markCommitted: () => log.push('marked'),
    ...(phaseTimed === undefined ? {} : { phaseTimed }),
  };
}

test('commit protocol: Redis, then the transaction, then the marker; each step timed once it committed', async () => {
  const log: string[] = [];
  const timed: TransactionPhase[] = [];
  await commitWindow(
    request(log, undefined, (phase, ms) => {
      assert.ok(ms >= 0);
      timed.push(phase);
      log.push(`timed ${phase}`);
    }),
  );
  assert.deepEqual(log, [
    'redis',
    'outputs',
    'begin',
    'send',
    'offsets',
    'commit',
    'timed begin',
    'timed send',
    'timed offsets',
    'timed commit',
    'marked',
  ]);
  assert.deepEqual(timed, ['begin', 'send', 'offsets', 'commit']);
});

test('commit protocol: a failed step aborts, marks nothing and times nothing; a failing timer cannot fail a commit', async () => {
  const log: string[] = [];
  const timed: string[] = [];
  await assert.rejects(commitWindow(request(log, 'offsets', (phase) => timed.push(phase))), /offsets failed/);
  assert.deepEqual(log, ['redis', 'outputs', 'begin', 'send', 'offsets', 'abort']);
  assert.deepEqual(timed, []);

  const after: string[] = [];
  await commitWindow(
    request(after, undefined, () => {
      throw new Error('metrics broke');
    }),
  );
  assert.deepEqual(after.slice(-2), ['commit', 'marked'], 'committed and marked');
});
