/**
 * Invariant: a zombie that wakes up rejoins its group. Two instances; A is frozen (SIGSTOP) past the session
 * timeout while windows are committing, three times at random moments, and resumed each time. B takes its
 * partitions and fences A's producers; A rejoins, usually gets its old partitions back, and must commit
 * again with fresh producers (not crash on the fenced ones and linger outside the group). Kafka's own
 * read_committed consumer sees no prediction twice, and Redis ends equal to the oracle.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import test, { after } from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { followTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import type { RunningPipeline } from '../helpers/process.js';
import { createTestEnv } from '../helpers/services.js';
import { sliceProducer } from '../helpers/slices.js';
import { assertEndStateMatchesOracle, decodeAudit } from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SESSION_MS = 6000;
const ROUNDS = 3;

test('zombie rejoin: an instance stopped past the session timeout three times rejoins its group and commits again; no duplicate for Kafka’s own read_committed consumer; Redis equals the oracle', async (t) => {
  const env = await createTestEnv('rejoin', {
    window: { maxRecords: 40, maxBytes: 1048576, maxDelayMs: 100 },
    consumer: { sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 1000 },
  });
  const config = env.config;
  const groupId = config.consumer.groupId;
  const stream = generateStream({
    seed: 37,
    customers: 250,
    transactionsPerCustomer: 10,
    // as many as the input topics have: the group spreads partitions by number, and both members need work
    partitions: 6,
    deleteRate: 0.1,
  });
  const inputs = [config.inputs.cdc[0]?.topic as string, config.inputs.events[0]?.topic as string];
  // the stream goes in slices over the test, so there is always work while instances stop and resume
  const slices = sliceProducer(env, stream, 2 + ROUNDS * 4);
  const produceNext = () => slices.next();

  // who committed what, when: audit events carry the instance (host:pid) and when the window closed
  const commits: Array<{ instance: string; closedAt: number }> = [];
  await followTopic(env.kafka, config.outputs.audit, (m) => {
    const audit = decodeAudit(m.value as Buffer);
    commits.push({ instance: audit.instance, closedAt: audit.closed_at });
  });
  const committedSince = (p: RunningPipeline, t: number) =>
    commits.some((c) => c.instance === `${hostname()}:${p.child.pid}` && c.closedAt > t);
  const admin = env.kafka.admin();
  await admin.connect();
  after(() => admin.disconnect());
  /** Members of the group once it is stable (-1 while it rebalances). */
  const members = async () => {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0];
    return g?.state === 'Stable' ? g.members.length : -1;
  };

  // A stalls 300 ms before each window's Redis write, so most of its time is spent inside a window
  const a = spawnPipeline(config, { STREAMSCORE_TEST_STALL_MS: '300' });
  const b = spawnPipeline(config);
  const trace: string[] = [];
  const until = async (what: string, timeoutMs: number, done: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      const byInstance = new Map<string, number>();
      for (const c of commits)
        byInstance.set(c.instance, Math.max(byInstance.get(c.instance) ?? 0, c.closedAt));
      assert.ok(
        Date.now() < deadline,
        `${what}: not within ${timeoutMs} ms; group members ${await members()}; last commit per instance ${JSON.stringify(
          [...byInstance],
        )} (A is pid ${a.child.pid}, B pid ${b.child.pid})\n${trace.join('\n')}\nA exit ${a.child.exitCode}:\n${a
          .output()
          .slice(-3000)}\nB exit ${b.child.exitCode}:\n${b.output().slice(-3000)}`,
      );
      await sleep(200);
    }
    trace.push(`${new Date().toISOString()} ${what}`);
  };
  await until('both instances in the group', 90000, async () => (await members()) === 2);
  const started = Date.now();
  await produceNext();
  await until(
    'both instances committing',
    90000,
    () => committedSince(a, started) && committedSince(b, started),
  );

  for (let round = 1; round <= ROUNDS; round++) {
    await produceNext();
    const fed = Date.now();
    await until(`round ${round}: A commits`, 60000, () => committedSince(a, fed));
    const delay = Math.floor(Math.random() * 400);
    await sleep(delay);
    a.child.kill('SIGSTOP');
    trace.push(`round ${round}: A stopped ${delay} ms after a commit of its was seen`);
    await produceNext();
    await until(`round ${round}: the group drops A`, 60000, async () => (await members()) === 1);
    const dropped = Date.now();
    await produceNext();
    await until(`round ${round}: B commits alone`, 60000, () => committedSince(b, dropped));
    a.child.kill('SIGCONT');
    await until(`round ${round}: A rejoins the group`, 90000, async () => (await members()) === 2);
    const rejoined = Date.now();
    await produceNext();
    await until(`round ${round}: both commit again`, 90000, () => {
      return committedSince(a, rejoined) && committedSince(b, rejoined);
    });
  }

  while (!slices.done) await produceNext();
  await waitCaughtUp(env.kafka, groupId, inputs, 120000);
  assert.equal(a.child.exitCode, null, `A is still running\n${a.output().slice(-3000)}`);
  assert.equal(b.child.exitCode, null, `B is still running\n${b.output().slice(-3000)}`);
  assert.equal(await members(), 2, 'both instances are in the group at the end');
  const [ra, rb] = await Promise.all([stopPipeline(a), stopPipeline(b)]);
  assert.equal(ra.code, 0, a.output().slice(-3000));
  assert.equal(rb.code, 0, b.output().slice(-3000));
  assert.doesNotMatch(a.output() + b.output(), /consumer crashed|"Crash: /, 'no consumer crashed');

  await assertEndStateMatchesOracle(env.kafka, config, stream, { A: a, B: b }, { consoleConsumer: true });
  for (const line of trace) t.diagnostic(line);
});
