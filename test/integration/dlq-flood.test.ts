/**
 * Invariant: bad input never stops the stream — but a broken upstream (most records rejected) holds the
 * pipeline instead of emptying the topic into the DLQ: nothing of the judged windows is committed, /readyz
 * says why, and after the fix the same records are read again and nothing is lost.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { TransactionsContract } from '../helpers/contracts.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import { assertEndStateMatchesOracle } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN = 'test-admin-token-0123456789';

async function until<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
  log: () => string,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what} within ${deadlineMs / 1000} s\n${log().slice(-3000)}`);
    await sleep(200);
  }
}

test('halt: a window over the rejected-share threshold commits nothing and holds the pipeline (/readyz, metric); resume re-judges it; after the fix nothing is lost', async () => {
  // the "broken upstream" is a wrong contract: amounts above 10 refused, which most transactions are
  const contract = new TransactionsContract();
  contract.limitAmount(10);
  const base = await createTestEnv('dq-halt', { dlq: { floodRatio: 0.5, floodMinRecords: 20 } });
  const [cdcTopic, txTopic] = inputTopics(base.config);
  const port = await freePort();
  const config = contract.configOf(base, { observe: { port, adminToken: TOKEN } });
  const stream = generateStream({
    seed: 91,
    customers: 40,
    transactionsPerCustomer: 5,
    partitions: 3,
    deleteRate: 0,
  });
  await produceToInputs(base.kafka, config, stream);

  const a = spawnPipeline(config);
  const url = `http://127.0.0.1:${port}`;
  const readyProblems = async () => {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { problems?: string[] };
    return res.status === 503 ? (body.problems ?? []) : [];
  };
  const held = () =>
    until(
      'the pipeline is held',
      60000,
      async () => {
        const problems = await readyProblems();
        return problems.find((p) => p.startsWith('held by the data-quality gate')) ?? undefined;
      },
      a.output,
    );
  const reason = await held();
  assert.match(reason, /SS_FIELD_RANGE/, 'the reason names the top DLQ reason');
  assert.match(reason, /POST \/admin\/resume or restart/);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^streamscore_pipeline_held\{[^}]*\} 1$/m);
  assert.match(metrics, /^streamscore_dlq_gate_trips_total\{[^}]*policy="halt"[^}]*\} [1-9]/m);
  const live = await fetch(`${url}/healthz`);
  assert.equal(live.status, 200, 'a hold is a decision, not a liveness failure: no restart loop');

  // the admin endpoint wants the token; resuming without a fix re-judges the same windows and holds again
  assert.equal((await fetch(`${url}/admin/resume`, { method: 'POST' })).status, 401);
  const resumed = await fetch(`${url}/admin/resume`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(resumed.status, 200);
  await sleep(500);
  await held();
  assert.match(a.output(), /data-quality hold lifted/);

  const admin = base.kafka.admin();
  await admin.connect();
  const [tx] = await admin.fetchOffsets({ groupId: config.consumer.groupId, topics: [txTopic] });
  await admin.disconnect();
  assert.ok(
    tx?.partitions.every((x) => Number(x.offset) <= 0),
    `nothing of a held window is committed: ${JSON.stringify(tx)}`,
  );
  const dlq = await readTopic(base.kafka, config.outputs.dlq, { idleMs: 1500 });
  assert.equal(dlq.length, 0, 'the DLQ was not flooded');
  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-2000));

  // the fix: the contract corrected, the pipeline restarted; every record is read again and scored
  contract.restore();
  const b = spawnPipeline(config);
  await waitCaughtUp(base.kafka, config.consumer.groupId, [cdcTopic, txTopic], 120000);
  const rb = await stopPipeline(b);
  assert.equal(rb.code, 0, b.output().slice(-2000));
  assert.equal((await readTopic(base.kafka, config.outputs.dlq, { idleMs: 1500 })).length, 0);
  await assertEndStateMatchesOracle(base.kafka, config, stream, { a, b });
});

test('policy dlq: the same broken upstream is let through, every rejected record in the DLQ once with its reason', async () => {
  const contract = new TransactionsContract();
  contract.limitAmount(10);
  const base = await createTestEnv('dq-dlq', {
    dlq: { floodRatio: 0.5, floodMinRecords: 20, policy: 'dlq' },
  });
  const [cdcTopic, txTopic] = inputTopics(base.config);
  const config = contract.configOf(base);
  const stream = generateStream({
    seed: 92,
    customers: 30,
    transactionsPerCustomer: 4,
    partitions: 3,
    deleteRate: 0,
  });
  await produceToInputs(base.kafka, config, stream);
  const p = spawnPipeline(config);
  await waitCaughtUp(base.kafka, config.consumer.groupId, [cdcTopic, txTopic], 120000);
  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-2000));
  const expected = stream.transactions.filter((t) => t.value.amount > 10).length;
  const dlq = await readTopic(base.kafka, config.outputs.dlq, { idleMs: 1500 });
  assert.equal(dlq.length, expected, 'each transaction above the (broken) limit is dead-lettered once');
  for (const m of dlq) assert.equal(String(m.headers['ss.error.code']), 'SS_FIELD_RANGE');
  assert.equal(
    new Set(dlq.map((m) => `${m.headers['ss.source.partition']}@${m.headers['ss.source.offset']}`)).size,
    dlq.length,
  );
  assert.match(p.output(), /dlq\.policy=dlq: they go to the DLQ/);
});
