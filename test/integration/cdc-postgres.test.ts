/**
 * Invariant: what a real Debezium connector captures from real SQL is scored exactly as the table says.
 * A private PostgreSQL (logical decoding) and a Kafka Connect worker with the Debezium PostgreSQL connector
 * (JsonConverter, schemas on), both started by `bash scripts/cdc.sh up`; the SQL workload of
 * scripts/cdc/workload.ts: rows that exist before the connector starts (its snapshot, op=r), then single
 * inserts, partial updates, deletes, bursts of small transactions, primary-key updates, one row updated many
 * times inside one transaction and one long transaction touching many rows; the connector is restarted
 * gracefully mid-stream, and later its Connect worker is SIGKILLed while SQL runs (Debezium resumes from the
 * last position it committed, re-sending what came after). Card
 * transactions go to the event topic.
 *
 * The oracle is built from the final table contents (read with SQL), the events as produced, and the commit
 * time Debezium stamped on each row's newest change (read from the raw JSON on the topic): Redis and the
 * committed predictions (kafkajs and Kafka's own console consumer) must equal it; no (entity, version)
 * twice; every snapshot row that nothing changed afterwards is scored exactly once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import {
  cdcEndpoints,
  ConnectClient,
  connectorFromTemplate,
  ensureCdcServices,
  killConnectWorker,
} from '../../scripts/cdc/connect.js';
import { BankWorkload, CUSTOMER_COLUMNS } from '../../scripts/cdc/workload.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { produceSample } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { expectedFromInputs } from '../helpers/oracle.js';
import type { EntityInput } from '../helpers/oracle.js';
import type { OracleEvent } from '../helpers/oracle-features.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv, inputTopics } from '../helpers/services.js';
import {
  assertPredictionEventsMatch,
  assertRedisMatches,
  readPredictions,
  readPredictionsWithConsoleConsumer,
} from '../helpers/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Debezium change as the test reads it from the topic's raw JSON (not with streamscore's decoder). */
interface RawChange {
  readonly id: string;
  readonly op: string;
  readonly lsn: number;
  readonly tsMs: number;
}

function rawChanges(messages: ReadonlyArray<{ key: Buffer | null; value: Buffer | null }>): {
  changes: RawChange[];
  tombstones: number;
} {
  const changes: RawChange[] = [];
  let tombstones = 0;
  for (const m of messages) {
    if (m.value === null) {
      tombstones++;
      continue;
    }
    const v = JSON.parse(m.value.toString()) as {
      payload: {
        op: string;
        before: { id: number } | null;
        after: { id: number } | null;
        source: { lsn: number; ts_ms: number };
      };
    };
    const p = v.payload;
    const row = p.after ?? p.before;
    assert.ok(row, `a ${p.op} change names its row`);
    changes.push({ id: String(row.id), op: p.op, lsn: p.source.lsn, tsMs: p.source.ts_ms });
  }
  return { changes, tombstones };
}

test('real CDC (PostgreSQL → Debezium → streamscore): Redis and the committed predictions equal an oracle from the final table and the events; a connector restart mid-stream duplicates nothing; snapshot rows are scored once', async (t) => {
  ensureCdcServices();
  const endpoints = cdcEndpoints();
  const env = await createTestEnv('cdc-pg');
  const [cdcTopic, txTopic] = inputTopics(env.config);
  const config = env.configWith({
    inputs: {
      cdc: [{ topic: cdcTopic, format: 'json', schemaFile: 'schemas/cdc.bank.customers-value.avsc' }],
      events: [{ topic: txTopic, format: 'json', schemaFile: 'schemas/transactions-value.avsc' }],
    },
  });
  const slot = env.id.replace(/[^a-z0-9]/g, '_').slice(0, 60);
  const connect = new ConnectClient(endpoints.connectUrl);
  const connector = connectorFromTemplate('cdc/connectors/customers.json', {
    name: env.id,
    topicPrefix: cdcTopic.slice(0, -'.bank.customers'.length),
    slotName: slot,
    publicationName: slot,
    pgPort: String(endpoints.pgPort),
    tableIncludeList: 'bank.customers',
    schemasEnable: 'true',
  });
  const sql = await BankWorkload.connect(endpoints, 91);
  t.after(async () => {
    await connect.remove(connector.name).catch(() => undefined);
    await sql.dropCapture(slot).catch(() => undefined);
    await sql.close();
  });

  // 1. rows before capture starts: the connector's snapshot reads them
  await sql.truncate();
  await sql.seed(300);
  const snapshotIds = new Set(sql.liveIds.map(String));
  await connect.register(connector);
  const a = spawnPipeline(config);

  // 2. live SQL: a graceful connector restart after the first part; the Connect worker SIGKILLed while
  //    the second part runs (its unflushed source offsets are lost: Debezium re-sends those changes)
  await sql.live({ inserts: 80, updates: 250, deletes: 25, keyChanges: 4, repeatedUpdates: 0, bulkRows: 0 });
  await connect.restart(connector.name);
  const part2 = sql.live({
    inserts: 60,
    updates: 150,
    deletes: 15,
    keyChanges: 3,
    repeatedUpdates: 25,
    bulkRows: 150,
  });
  await sleep(400);
  killConnectWorker();
  await part2;
  ensureCdcServices();
  await connect.waitRunning(connector.name, 120000);
  const touched = new Set<string>();
  const counts = { ...sql.counts };

  // 3. card transactions for two thirds of the customers ever inserted (and a few unknown ids)
  const everInserted = (await sql.query('SELECT id FROM bank.customers')).rows.map((r: { id: string }) =>
    Number(r.id),
  );
  const withEvents = everInserted.filter((_, i) => i % 3 !== 0);
  const transactions = sql.transactions(withEvents, 4, Date.now(), 3);
  await produceSample(
    env.kafka,
    createRegistryClient(config.registry),
    { cdc: [], transactions },
    {
      cdcTopic,
      transactionsTopic: txTopic,
      format: 'json',
    },
  );

  // 4. wait until Debezium has put every change on the topic, then until the pipeline has committed it all
  // each insert (the 300 seeded ones read by the snapshot), update and delete once; a key change twice
  const expectedChanges = counts.inserts + counts.updates + counts.deletes + 2 * counts.keyChanges;
  let raw = rawChanges(await readTopic(env.kafka, cdcTopic));
  for (let i = 0; i < 120 && raw.changes.length < expectedChanges; i++) {
    await sleep(500);
    raw = rawChanges(await readTopic(env.kafka, cdcTopic));
  }
  assert.ok(
    raw.changes.length >= expectedChanges,
    `Debezium captured ${raw.changes.length} of at least ${expectedChanges} changes`,
  );
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 180000).catch((err: Error) => {
    err.message += `\n${a.output().slice(-4000)}`;
    throw err;
  });
  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));

  // 5. the oracle: final table + events + the commit time of each row's newest change
  const newest = new Map<string, RawChange>();
  const seenChange = new Set<string>();
  let redelivered = 0;
  for (const c of raw.changes) {
    const k = `${c.id}/${c.op}/${c.lsn}`;
    if (seenChange.has(k)) redelivered++;
    seenChange.add(k);
    if (c.op !== 'r') touched.add(c.id);
    const cur = newest.get(c.id);
    if (cur === undefined || c.lsn >= cur.lsn) newest.set(c.id, c);
  }
  const select = CUSTOMER_COLUMNS.map((c) =>
    c === 'balance' || c === 'credit_limit'
      ? `${c}::text AS ${c}`
      : c === 'created_at' || c === 'birth_date'
        ? `(extract(epoch from ${c}::timestamp) * 1000)::bigint::text AS ${c}`
        : c === 'updated_at'
          ? `(extract(epoch from ${c}) * 1000)::bigint::text AS ${c}`
          : c,
  );
  const rows = (await sql.query(`SELECT ${select.join(', ')} FROM bank.customers`)).rows as Array<
    Record<string, string | number | null>
  >;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const table = new Map(
    rows.map((row) => [
      String(row.id),
      Object.fromEntries(
        CUSTOMER_COLUMNS.map((c) => [c, c === 'region' || c === 'segment' ? (row[c] ?? null) : num(row[c])]),
      ),
    ]),
  );
  const events = new Map<string, OracleEvent[]>();
  for (const e of transactions) {
    const list = events.get(e.key) ?? [];
    list.push({ txnId: e.value.txn_id, eventTimeMs: e.value.event_time, fields: { ...e.value } });
    events.set(e.key, list);
  }
  const inputs: EntityInput[] = [];
  for (const [id, change] of newest) {
    const profile = table.get(id) ?? null;
    assert.equal(
      profile === null,
      change.op === 'd',
      `customer ${id}: the newest change agrees with the table`,
    );
    const evs = events.get(id) ?? [];
    const asOfMs = Math.max(change.tsMs, ...evs.map((e) => e.eventTimeMs));
    inputs.push({ entityId: id, deleted: profile === null, asOfMs, profile, events: evs });
  }
  for (const id of table.keys()) assert.ok(newest.has(id), `row ${id} of the table was captured`);
  const expected = await expectedFromInputs(inputs, {
    dir: join(process.cwd(), 'models'),
    name: config.model.name,
    version: config.model.version,
  });
  const unknown = [...events.keys()].filter((id) => !newest.has(id));
  await assertRedisMatches(config, expected, unknown);
  const predictions = await readPredictions(env.kafka, config);
  assertPredictionEventsMatch(predictions, expected);
  assertPredictionEventsMatch(await readPredictionsWithConsoleConsumer(env.kafka, config), expected);

  // 6. a snapshot row nothing changed and no event touched is scored exactly once
  const quiet = [...snapshotIds].filter((id) => !touched.has(id) && !events.has(id));
  assert.ok(quiet.length >= 10, `enough untouched snapshot rows (${quiet.length})`);
  for (const id of quiet) {
    const n = predictions.filter((p) => p.entity_id === id).length;
    assert.equal(n, 1, `snapshot-only customer ${id}: one prediction event, got ${n}`);
  }
  t.diagnostic(
    `SQL: ${counts.inserts} inserts (300 before the snapshot), ${counts.updates} updates (${counts.bulkRows} in one transaction, ${counts.repeatedUpdates} of one row in one transaction), ${counts.deletes} deletes, ${counts.keyChanges} key changes, ${counts.transactions} multi-statement transactions; Debezium: ${raw.changes.length} changes + ${raw.tombstones} tombstones, ${redelivered} re-sent after the worker was killed; ${transactions.length} card transactions; ${expected.size} entities checked, ${quiet.length} snapshot-only rows scored once`,
  );
});
