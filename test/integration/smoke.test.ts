import assert from 'node:assert/strict';
import test from 'node:test';
import { LookupClient } from '../../src/lookup/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { createTestEnv } from '../helpers/services.js';

const DAY = 86_400_000;

test('a JSON CDC insert, an update, events and a delete flow through to Redis and the output topics', async () => {
  const env = await createTestEnv('smoke', {
    inputs: {
      cdc: [{ topic: 'PLACEHOLDER', format: 'json' }],
      events: [{ topic: 'PLACEHOLDER2', format: 'json' }],
    },
  });
  const cdcTopic = `${env.prefix}cdc.bank.customers`;
  const txTopic = `${env.prefix}transactions`;
  const config = env.configWith({
    inputs: {
      cdc: [{ topic: cdcTopic, format: 'json', schemaFile: 'schemas/cdc.bank.customers-value.avsc' }],
      events: [{ topic: txTopic, format: 'json', schemaFile: 'schemas/transactions-value.avsc' }],
    },
  });
  const t0 = Date.UTC(2026, 10, 1);
  const row = (id: number, balance: string, age: number) => ({
    id,
    tenure_months: 12,
    age,
    products_held: 2,
    balance,
    credit_limit: 'AYag', // base64 of unscaled 100000 -> 1000.00
    utilisation: 0.4,
    region: 'north',
    segment: 'mass',
    created_at: t0 * 1000,
    updated_at: '2026-11-01T00:00:00.000000Z',
    birth_date: 10000,
  });
  const env0 = (op: string, lsn: number, after: unknown, before: unknown = null) => ({
    before,
    after,
    source: {
      version: '2.7.0.Final',
      connector: 'postgresql',
      name: 'bank',
      ts_ms: t0 + lsn,
      snapshot: 'false',
      db: 'bank',
      schema: 'public',
      table: 'customers',
      txId: lsn,
      lsn,
      xmin: null,
    },
    op,
    ts_ms: t0 + lsn + 5,
    transaction: null,
  });
  const producer = env.kafka.producer();
  await producer.connect();
  await producer.send({
    topic: cdcTopic,
    messages: [
      { key: JSON.stringify({ id: 1 }), value: JSON.stringify(env0('c', 100, row(1, 'MDk=', 30))) },
      { key: JSON.stringify({ id: 2 }), value: JSON.stringify(env0('c', 101, row(2, 'MDk=', 40))) },
      {
        key: JSON.stringify({ id: 1 }),
        value: JSON.stringify(env0('u', 102, row(1, 'AQ==', 31), { id: 1 })),
      },
      { key: JSON.stringify({ id: 2 }), value: JSON.stringify(env0('d', 103, null, { id: 2 })) },
      { key: JSON.stringify({ id: 2 }), value: null },
      { key: 'garbage', value: 'not json at all' },
    ],
  });
  await producer.send({
    topic: txTopic,
    messages: [
      {
        key: '1',
        value: JSON.stringify({
          txn_id: 'a',
          customer_id: 1,
          amount: 12.5,
          type: 'debit',
          channel: 'card',
          mcc: '5411',
          declined: false,
          event_time: t0 + 200,
        }),
      },
      {
        key: '1',
        value: JSON.stringify({
          txn_id: 'b',
          customer_id: 1,
          amount: 7.5,
          type: 'debit',
          channel: 'online',
          mcc: '5999',
          declined: true,
          event_time: t0 + 300,
        }),
      },
      {
        key: '1',
        value: JSON.stringify({
          txn_id: 'old',
          customer_id: 1,
          amount: 1,
          type: 'debit',
          channel: 'card',
          mcc: '5411',
          declined: false,
          event_time: t0 - 40 * DAY,
        }),
      },
    ],
  });
  await producer.disconnect();

  const pipeline = new Pipeline({ config, logger: createLogger('warn') });
  await pipeline.start();
  let metrics = '';
  try {
    await waitCaughtUp(env.kafka, config.consumer.groupId, [cdcTopic, txTopic], 60000);
    const base = `http://127.0.0.1:${pipeline.observePort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    metrics = await (await fetch(`${base}/metrics`)).text();
  } finally {
    await pipeline.stop();
  }
  for (const name of [
    'streamscore_records_total',
    'streamscore_stage_duration_seconds_bucket',
    'streamscore_window_records_bucket',
    'streamscore_consumer_lag',
    'streamscore_in_flight_records',
  ]) {
    assert.match(metrics, new RegExp(`^${name}\\{`, 'm'), `/metrics exports ${name}`);
  }
  assert.match(metrics, /streamscore_records_total\{[^}]*outcome="invalid"[^}]*\} 1/);
  // every committed window timed each step of its transaction
  for (const phase of ['begin', 'send', 'offsets', 'commit'])
    assert.match(
      metrics,
      new RegExp(`^streamscore_transaction_phase_seconds_count\\{[^}]*phase="${phase}"[^}]*\\} [1-9]`, 'm'),
      phase,
    );
  // the stream's entities were looked up: each first as a miss (read from Redis), and the cache holds them
  assert.match(metrics, /^streamscore_state_cache_lookups\{[^}]*result="miss"[^}]*\} [1-9]/m);
  assert.match(metrics, /^streamscore_state_cache_entities\{[^}]*\} [1-9]/m);
  const lookup = new LookupClient({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    pipeline: 'churn',
  });
  try {
    const p1 = await lookup.get('1');
    assert.ok(p1, 'customer 1 has a prediction');
    assert.ok(p1.score >= 0 && p1.score <= 1);
    assert.equal(p1.model.version, '2');
    assert.equal(p1.stale, false);
    assert.equal(await lookup.get('2'), null, 'deleted customer 2 has none');
  } finally {
    await lookup.close();
  }
  const dlq = await readTopic(env.kafka, config.outputs.dlq);
  assert.equal(dlq.length, 1);
  assert.equal(dlq[0]?.value?.toString(), 'not json at all');
  assert.equal(String(dlq[0]?.headers['ss.error.code']), 'SS_DECODE_FAILED');
  const preds = await readTopic(env.kafka, config.outputs.predictions);
  assert.ok(preds.length >= 2);
  const audits = await readTopic(env.kafka, config.outputs.audit);
  assert.ok(audits.length >= 2);
});
