import assert from 'node:assert/strict';
import test from 'node:test';
import { runShutdown } from '../../../src/pipeline/shutdown.js';

test('shutdown: every step is attempted in order; a stuck or failing one is named and the rest still run, within the budget', async () => {
  const ran: string[] = [];
  const logged: string[] = [];
  const started = Date.now();
  const report = await runShutdown(
    [
      { name: 'windows', share: 0.4, run: () => (ran.push('windows'), new Promise(() => undefined)) },
      {
        name: 'producers',
        share: 0.2,
        run: async () => {
          ran.push('producers');
          throw new Error('broker gone');
        },
      },
      { name: 'consumer', share: 0.25, run: async () => void ran.push('consumer') },
      { name: 'redis', share: 0.05, run: () => void ran.push('redis') },
    ],
    500,
    (step, reason) => logged.push(`${step}: ${reason}`),
  );
  assert.deepEqual(ran, ['windows', 'producers', 'consumer', 'redis']);
  assert.deepEqual(report.failed, [
    { step: 'windows', reason: 'did not finish within 200 ms' },
    { step: 'producers', reason: 'broker gone' },
  ]);
  assert.deepEqual(logged, ['windows: did not finish within 200 ms', 'producers: broker gone']);
  assert.ok(Date.now() - started < 500, 'no longer than the budget');
});

test('shutdown: a clean stop reports nothing failed', async () => {
  const report = await runShutdown([{ name: 'a', share: 1, run: async () => undefined }], 1000);
  assert.deepEqual(report.failed, []);
});
