/**
 * Invariants of the core pipeline against the real Kafka, registry and Redis:
 *  - oracle: Redis and the committed prediction topic equal what the input stream implies;
 *  - no loss: every input record is in an audit bucket, bad records are in the DLQ;
 *  - replay: resetting the group to earliest changes nothing and commits no new prediction;
 *  - deletes stay deleted when older updates are replayed;
 *  - both encodings (Avro + registry, JSON with and without schemas) give the same predictions.
 * The generated stream gets a few transactions exactly on window edges (see withWindowEdgeEvents).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import type { Config } from '../../src/config/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { generateStream } from '../../src/sample/index.js';
import type { SampleFormat, SampleStream, TransactionRecord } from '../../src/sample/index.js';
import { resetGroupToEarliest, topicSize, waitCaughtUp } from '../helpers/kafka.js';
import { entityInputs, expectedPredictions } from '../helpers/oracle.js';
import type { ExpectedPrediction } from '../helpers/oracle.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';
import type { TestEnv } from '../helpers/services.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  readAudits,
  readPredictions,
} from '../helpers/verify.js';
import { accountedFor } from '../../src/pipeline/accounting.js';

const STREAM = {
  seed: 7,
  customers: 150,
  transactionsPerCustomer: 12,
  partitions: 3,
  duplicateRate: 0.03,
  outOfOrderRate: 0.05,
  deleteRate: 0.08,
};

const DAY_MS = 86_400_000;

/**
 * Generated event times are random milliseconds, so no event sits exactly on a window edge and an
 * off-by-one there ([asOf - w, asOf] for (asOf - w, asOf]) would pass. For a few customers, add one declined
 * transaction exactly 7 and one exactly 30 days before their final as-of time (which stays the same), each
 * sent a second after it happened: by the contract, each is in no window of that length.
 */
function withWindowEdgeEvents(stream: SampleStream, customers: number): SampleStream {
  const partitionOf = new Map(stream.transactions.map((r) => [r.key, r.partition]));
  const extra: TransactionRecord[] = [];
  const chosen = entityInputs(stream)
    .filter((e) => !e.deleted && partitionOf.has(e.entityId) && e.asOfMs - 30 * DAY_MS > stream.startMs)
    .slice(0, customers);
  for (const e of chosen) {
    for (const days of [7, 30]) {
      const eventTime = e.asOfMs - days * DAY_MS;
      extra.push({
        topic: 'transactions',
        partition: partitionOf.get(e.entityId) as number,
        key: e.entityId,
        atMs: eventTime + 1000,
        resend: null,
        value: {
          txn_id: `edge-${e.entityId}-${days}d`,
          customer_id: Number(e.entityId),
          amount: 250,
          type: 'debit',
          channel: 'card',
          mcc: '5411',
          declined: true,
          event_time: eventTime,
        },
      });
    }
  }
  assert.equal(extra.length, 2 * customers, 'enough customers for the window-edge events');
  // Stable sort: the generated records keep their order; each added one goes where its send time falls.
  return { ...stream, transactions: [...stream.transactions, ...extra].sort((a, b) => a.atMs - b.atMs) };
}

async function runUntilCaughtUp(env: TestEnv, config: Readonly<Config>): Promise<void> {
  const pipeline = new Pipeline({ config, logger: createLogger('warn') });
  await pipeline.start();
  try {
    const topics = [...config.inputs.cdc.map((i) => i.topic), ...config.inputs.events.map((i) => i.topic)];
    await waitCaughtUp(env.kafka, config.consumer.groupId, topics, 120000);
  } finally {
    await pipeline.stop();
  }
}

function unknownCustomers(stream: SampleStream): string[] {
  const known = new Set(stream.cdc.map((r) => String(r.key.id)));
  return [...new Set(stream.transactions.map((r) => r.key))].filter((k) => !known.has(k));
}

async function setup(
  label: string,
  format: SampleFormat,
): Promise<{
  env: TestEnv;
  config: Readonly<Config>;
  stream: SampleStream;
  expected: Map<string, ExpectedPrediction>;
}> {
  const env = await createTestEnv(label);
  const decoderFormat = format === 'avro' ? 'avro' : 'json';
  const config = env.configWith({
    inputs: {
      cdc: [
        {
          topic: `${env.prefix}cdc.bank.customers`,
          format: decoderFormat,
          schemaFile: 'schemas/cdc.bank.customers-value.avsc',
        },
      ],
      events: [
        {
          topic: `${env.prefix}transactions`,
          format: decoderFormat,
          schemaFile: 'schemas/transactions-value.avsc',
        },
      ],
    },
  });
  const stream = withWindowEdgeEvents(generateStream(STREAM), 10);
  await produceToInputs(env.kafka, config, stream, { format });
  const model = {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: config.model.version,
  };
  return { env, config, stream, expected: await expectedPredictions(stream, model) };
}

test('oracle (Avro): Redis and the committed predictions equal the stream; every record is accounted for; replay changes nothing', async (t) => {
  const { env, config, stream, expected } = await setup('oracle-avro', 'avro');
  assert.ok(
    stream.summary.deletedIds.length > 0 && stream.summary.cdc.duplicates > 0 && stream.summary.cdc.stale > 0,
    'the stream has deletes, duplicates and stale resends',
  );

  const [cdcTopic, transactionsTopic] = inputTopics(config);
  // poison records: garbage, wrong magic byte, unknown schema id — they must reach the DLQ and not stop anything
  const producer = env.kafka.producer();
  await producer.connect();
  const unknownId = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]);
  await producer.send({
    topic: cdcTopic,
    messages: [
      { partition: 0, key: 'x', value: Buffer.from('garbage') },
      { partition: 1, key: 'y', value: Buffer.from([1, 0, 0, 0, 1, 2]) },
      { partition: 2, key: 'z', value: unknownId },
    ],
  });
  await producer.disconnect();
  const totalInput = (await topicSize(env.kafka, cdcTopic)) + (await topicSize(env.kafka, transactionsTopic));

  await runUntilCaughtUp(env, config);

  await t.test('Redis equals the oracle', async () => {
    await assertRedisMatches(config, expected, unknownCustomers(stream).slice(0, 20));
  });
  const events = await readPredictions(env.kafka, config);
  await t.test('committed prediction events: none twice, newest per entity equals the oracle', () => {
    assertPredictionEventsMatch(events, expected);
  });
  await t.test(
    'no loss: audits account for every input record; the three poison records are in the DLQ',
    async () => {
      const audits = await readAudits(env.kafka, config);
      assert.equal(
        audits.reduce((n, a) => n + a.counts.received, 0),
        totalInput,
      );
      assert.equal(
        audits.reduce((n, a) => n + a.counts.invalid, 0),
        3,
      );
      for (const a of audits) assert.ok(accountedFor(a.counts), JSON.stringify(a.counts));
      assert.equal(
        audits.reduce((n, a) => n + a.counts.emitted, 0),
        events.length,
      );
      // redeliveries are counted as duplicates: at most the exact copies the generator re-sent (a copy of
      // a change already superseded is stale, a copy of an expired event is just old)
      const duplicates = audits.reduce((n, a) => n + a.counts.duplicates, 0);
      const resent = stream.summary.cdc.duplicates + stream.summary.transactions.duplicates;
      assert.ok(
        duplicates > 0 && duplicates <= resent,
        `${duplicates} duplicates counted, ${resent} re-sent`,
      );
    },
  );

  await t.test(
    'replay from earliest: Redis unchanged, no new committed predictions, deletes stay deleted',
    async () => {
      for (const topic of [...config.inputs.cdc, ...config.inputs.events].map((i) => i.topic)) {
        await resetGroupToEarliest(env.kafka, config.consumer.groupId, topic);
      }
      await runUntilCaughtUp(env, config);
      await assertRedisMatches(config, expected);
      const after = await readPredictions(env.kafka, config);
      assert.equal(after.length, events.length, 'no prediction was committed again');
    },
  );
});

for (const format of ['json', 'json-schema'] as const) {
  test(`both encodings decode to the same features: ${format} input gives the oracle's predictions`, async () => {
    const { env, config, expected } = await setup(`oracle-${format}`, format);
    await runUntilCaughtUp(env, config);
    await assertRedisMatches(config, expected);
    assertPredictionEventsMatch(await readPredictions(env.kafka, config), expected);
  });
}

test('a window budget smaller than a window: windows of all partitions wait their turn and the oracle still holds', async () => {
  const { env, config, expected } = await setup('oracle-budget', 'json');
  // 7 records: every window takes the whole budget, so the partitions' windows run one at a time, in the
  // order they asked
  const budgeted: Readonly<Config> = {
    ...config,
    backpressure: { ...config.backpressure, maxWindowRecords: 7 },
  };
  await runUntilCaughtUp(env, budgeted);
  await assertRedisMatches(budgeted, expected);
  assertPredictionEventsMatch(await readPredictions(env.kafka, budgeted), expected);
});
