/**
 * Invariant: what a real Debezium connector captures from real SQL is scored exactly as the table says.
 * A private PostgreSQL (logical decoding) and a Kafka Connect worker with the Debezium PostgreSQL connector,
 * both started by `bash scripts/cdc.sh up`; the SQL workload of scripts/cdc/workload.ts: rows that exist
 * before the connector starts (its snapshot, op=r), then single inserts, partial updates, deletes, bursts of
 * small transactions, primary-key updates, one row updated many times inside one transaction and one long
 * transaction touching many rows. Card transactions go to the event topic. Each case runs it through one
 * converter and Debezium setting (JsonConverter with and without schemas, Avro through the registry;
 * decimals precise, as text, as doubles; REPLICA IDENTITY default and FULL), some with faults (a graceful
 * connector restart and a SIGKILLed Connect worker: Debezium re-sends what it had not committed) or a schema
 * change (ALTER TABLE ADD COLUMN mid-stream, a TOASTed column left unchanged by later updates).
 *
 * The oracle is built from the final table contents (read with SQL), the events as produced, and the commit
 * time Debezium stamped on each row's newest change (read from the topic with plain JSON.parse or avsc,
 * not with streamscore's decoder): Redis and the committed predictions (kafkajs and Kafka's own console
 * consumer) must equal it; no (entity, version) twice; nothing dead-lettered; every snapshot row that nothing
 * changed afterwards is scored exactly once. Separately, streamscore's decoder replaying the topic (with
 * the unavailable-value rule) must rebuild every column of the final table, so each real encoding is read
 * right.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { TestContext } from 'node:test';
import avro from 'avsc';
import {
  cdcEndpoints,
  ConnectClient,
  connectLogExcerpt,
  customersConnector,
  ensureCdcServices,
  killConnectWorker,
} from '../../scripts/cdc/connect.js';
import { BankWorkload, CUSTOMER_COLUMNS } from '../../scripts/cdc/workload.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { createDecoder, fillUnavailable } from '../../src/decode/index.js';
import type { Row } from '../../src/decode/index.js';
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

interface Variant {
  readonly converter: 'json-schemas' | 'json-plain' | 'avro';
  readonly decimals: 'precise' | 'string' | 'double';
  readonly replicaIdentityFull: boolean;
  /** A graceful connector restart, then the Connect worker SIGKILLed while SQL runs. */
  readonly faults: boolean;
  /** ALTER TABLE ADD COLUMN notes (TOASTed, then left unchanged by updates) between the two live parts. */
  readonly addColumn: boolean;
}

/** A Debezium change as the test reads it from the topic (not with streamscore's decoder). */
interface RawChange {
  readonly id: string;
  readonly op: string;
  readonly lsn: number;
  readonly tsMs: number;
}

/** int64 as a JS number when safe, else its decimal text (Debezium's ts_ns is beyond 2^53). */
const SafeLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => {
    const v = b.readBigInt64LE();
    return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  },
  toBuffer: (n: number | string) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: Number,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === 'number' || typeof n === 'string',
  compare: (a: number, b: number) => a - b,
});

async function rawChanges(
  messages: ReadonlyArray<{ value: Buffer | null }>,
  converter: Variant['converter'],
  registryUrl: string,
): Promise<{ changes: RawChange[]; tombstones: number }> {
  const types = new Map<number, avro.Type>();
  const changes: RawChange[] = [];
  let tombstones = 0;
  for (const m of messages) {
    if (m.value === null) {
      tombstones++;
      continue;
    }
    let p: {
      op: string;
      before: { id: number } | null;
      after: { id: number } | null;
      source: { lsn: number; ts_ms: number };
    };
    if (converter === 'avro') {
      assert.equal(m.value[0], 0, 'Confluent wire format: magic byte 0');
      const id = m.value.readUInt32BE(1);
      let type = types.get(id);
      if (type === undefined) {
        const res = await fetch(`${registryUrl}/schemas/ids/${id}`);
        const { schema } = (await res.json()) as { schema: string };
        type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, { registry: { long: SafeLong } });
        types.set(id, type);
      }
      p = type.fromBuffer(m.value.subarray(5)) as typeof p;
    } else {
      const v = JSON.parse(m.value.toString()) as { payload?: typeof p } & typeof p;
      p = converter === 'json-schemas' ? (v.payload as typeof p) : v;
    }
    const row = p.after ?? p.before;
    assert.ok(row, `a ${p.op} change names its row`);
    changes.push({ id: String(row.id), op: p.op, lsn: Number(p.source.lsn), tsMs: Number(p.source.ts_ms) });
  }
  return { changes, tombstones };
}

async function runScenario(t: TestContext, v: Variant, seed: number): Promise<void> {
  ensureCdcServices();
  const endpoints = cdcEndpoints();
  const env = await createTestEnv(`cdc-${v.converter}-${v.decimals}`);
  const [cdcTopic, txTopic] = inputTopics(env.config);
  const format = v.converter === 'avro' ? 'avro' : 'json';
  const schemaFile = 'schemas/cdc.bank.customers-value.avsc';
  const config = env.configWith({
    inputs: {
      cdc: [{ topic: cdcTopic, format, schemaFile }],
      events: [{ topic: txTopic, format: 'json', schemaFile: 'schemas/transactions-value.avsc' }],
    },
  });
  const connect = new ConnectClient(endpoints.connectUrl);
  const { connector, slot } = customersConnector(endpoints, env.id, cdcTopic, {
    converter: v.converter,
    registryUrl: config.registry.url,
    overrides: { 'decimal.handling.mode': v.decimals },
  });
  const sql = await BankWorkload.connect(endpoints, seed);
  t.after(async () => {
    await connect.remove(connector.name).catch(() => undefined);
    await sql.dropCapture(slot).catch(() => undefined);
    await sql.resetTable().catch(() => undefined);
    await sql.close();
  });

  // 1. rows before capture starts: the connector's snapshot reads them
  await sql.resetTable();
  await sql.truncate();
  if (v.replicaIdentityFull) await sql.query('ALTER TABLE bank.customers REPLICA IDENTITY FULL');
  await sql.seed(300);
  const snapshotIds = new Set(sql.liveIds.map(String));
  await connect.register(connector);
  // the task runs before its snapshot has read the table: live SQL from now on would be folded into the
  // snapshot's reads (a row changed before the snapshot's view is read once, as op=r, with no change event),
  // so wait until every seeded row is on the topic as a snapshot read
  for (let i = 0; ; i++) {
    const reads = (
      await rawChanges(await readTopic(env.kafka, cdcTopic), v.converter, config.registry.url)
    ).changes.filter((c) => c.op === 'r').length;
    if (reads >= snapshotIds.size) break;
    if (i >= 240)
      assert.fail(`the snapshot put ${reads} of ${snapshotIds.size} rows on ${cdcTopic} in 120 s`);
    await sleep(500);
  }
  const a = spawnPipeline(config);

  // 2. live SQL in two parts; faults or a schema change in between
  await sql.live({ inserts: 80, updates: 250, deletes: 25, keyChanges: 4, repeatedUpdates: 0, bulkRows: 0 });
  let toasted = 0;
  const subject = `${cdcTopic}-value`;
  let versionsBefore: number[] = [];
  if (v.addColumn) {
    // the converter registers the first writer schema with the first record it sends
    for (let i = 0; i < 120; i++) {
      versionsBefore = await registryVersions(config.registry.url, subject, v.converter);
      if (v.converter !== 'avro' || versionsBefore.length > 0) break;
      await sleep(250);
    }
    if (v.converter === 'avro')
      assert.ok(versionsBefore.length > 0, `${subject}: the first writer schema is registered`);
    if (v.converter === 'avro') await setCompatibility(config.registry.url, subject, 'BACKWARD');
    toasted = (await sql.addToastedNotes(sql.liveIds.slice(0, 40))).size;
  }
  if (v.faults) {
    await connect.restart(connector.name);
    // the kill below must find a streaming offset stored that names a streamed commit (lsn_commit), so the
    // restart it causes resumes streaming from an offset rather than from the snapshot's. Debezium writes
    // lsn_commit into the offset of a record that follows the commit: one more update every 2 s until it is there
    for (let k = 0; ; k++) {
      await sql.live({ inserts: 0, updates: 1, deletes: 0, keyChanges: 0, repeatedUpdates: 0, bulkRows: 0 });
      const stored = await connect.waitStreamingOffset(connector.name, -1, 2000).catch((err: Error) => err);
      if (typeof stored === 'number') break;
      if (k >= 30) throw stored;
    }
  }
  const part2 = sql.live({
    inserts: 60,
    updates: 150,
    deletes: 15,
    // a primary-key change of a row with a TOASTed value would carry the placeholder into the new key's
    // first row, which has no earlier value to keep (Debezium's documented limit; FULL identity avoids it)
    keyChanges: v.addColumn ? 0 : 3,
    repeatedUpdates: 25,
    bulkRows: 150,
  });
  if (v.faults) {
    await sleep(400);
    killConnectWorker();
  }
  await part2;
  if (v.faults) {
    ensureCdcServices();
    await connect.waitRunning(connector.name, 120000);
  }
  const counts = { ...sql.counts };

  // 3. card transactions for two thirds of the customers alive at the end (and a few unknown ids)
  const alive = (await sql.query('SELECT id FROM bank.customers ORDER BY id')).rows.map((r: { id: string }) =>
    Number(r.id),
  );
  const transactions = sql.transactions(
    alive.filter((_, i) => i % 3 !== 0),
    4,
    Date.now(),
    3,
  );
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
  // (each insert — the seeded ones read by the snapshot —, update and delete once; a key change twice)
  const expectedChanges = counts.inserts + counts.updates + counts.deletes + 2 * counts.keyChanges + toasted;
  let messages = await readTopic(env.kafka, cdcTopic);
  let raw = await rawChanges(messages, v.converter, config.registry.url);
  // distinct changes: what Debezium re-sent after the worker was killed counts once
  const distinct = (r: typeof raw) => new Set(r.changes.map((c) => `${c.id}/${c.op}/${c.lsn}`)).size;
  for (let i = 0; i < 120 && distinct(raw) < expectedChanges; i++) {
    await sleep(500);
    messages = await readTopic(env.kafka, cdcTopic);
    raw = await rawChanges(messages, v.converter, config.registry.url);
  }
  if (distinct(raw) < expectedChanges) {
    // upstream of streamscore: say what Connect, Debezium and the slot knew, so the failure explains itself
    const slotState = await sql
      .query(
        'SELECT active, restart_lsn::text, confirmed_flush_lsn::text, pg_current_wal_lsn()::text AS wal_now FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
      .then((q) => JSON.stringify(q.rows))
      .catch((err: Error) => err.message);
    const lastLsn = Math.max(...raw.changes.map((c) => c.lsn));
    assert.fail(
      `Debezium captured ${distinct(raw)} distinct changes of ${expectedChanges} (newest LSN on the topic ${lastLsn}); ` +
        `slot ${slotState}; connector ${JSON.stringify(await connect.status(connector.name).catch(() => null))}; ` +
        `stored offset ${JSON.stringify(await connect.offsets(connector.name).catch(() => null))}\n` +
        `Connect log:\n${connectLogExcerpt(connector.name)}`,
    );
  }
  if (v.addColumn && v.converter === 'avro') {
    // the schema change is BACKWARD-compatible: the registry accepted it under that rule, and says so
    const versions = await registryVersions(config.registry.url, subject, v.converter);
    assert.ok(
      versions.length > versionsBefore.length,
      `${subject}: a new writer schema was registered (${versions.join(', ')})`,
    );
    const latest = (await (
      await fetch(`${config.registry.url}/subjects/${subject}/versions/latest`)
    ).json()) as {
      schema: string;
    };
    const res = await fetch(
      `${config.registry.url}/compatibility/subjects/${subject}/versions/${versionsBefore.at(-1)}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: latest.schema }),
      },
    );
    const verdict = (await res.json()) as { is_compatible?: boolean };
    assert.equal(
      verdict.is_compatible,
      true,
      `${subject}: the new schema is BACKWARD-compatible against the old`,
    );
  }
  await waitCaughtUp(env.kafka, config.consumer.groupId, inputTopics(config), 180000).catch((err: Error) => {
    err.message += `\n${a.output().slice(-4000)}`;
    throw err;
  });
  const r = await stopPipeline(a);
  assert.equal(r.code, 0, a.output().slice(-3000));
  assert.equal((await readTopic(env.kafka, config.outputs.dlq)).length, 0, 'nothing dead-lettered');

  // 5. the final table, as SQL reads it (times as epoch millis, money as text)
  const select = CUSTOMER_COLUMNS.map((c) =>
    c === 'balance' || c === 'credit_limit'
      ? `${c}::text AS ${c}`
      : c === 'created_at' || c === 'birth_date'
        ? `(extract(epoch from ${c}::timestamp) * 1000)::bigint::text AS ${c}`
        : c === 'updated_at'
          ? `(extract(epoch from ${c}) * 1000)::bigint::text AS ${c}`
          : c,
  );
  if (v.addColumn) select.push('notes', 'vip');
  const rows = (await sql.query(`SELECT ${select.join(', ')} FROM bank.customers`)).rows as Array<
    Record<string, string | number | null>
  >;
  const num = (x: unknown) => (x === null || x === undefined ? null : Number(x));
  const table = new Map<string, Row>(
    rows.map((row) => [
      String(row.id),
      Object.fromEntries(
        Object.keys(row).map((c) => [
          c,
          c === 'region' || c === 'segment' || c === 'notes' || c === 'vip' ? (row[c] ?? null) : num(row[c]),
        ]),
      ),
    ]),
  );

  // 6. streamscore's decoder replaying the topic rebuilds every column of the final table
  const decoder = createDecoder({
    kind: 'cdc',
    options: { topic: cdcTopic, format },
    writerSchemas: createRegistryClient(config.registry),
    declaredValueSchema: JSON.parse(readFileSync(schemaFile, 'utf8')) as unknown,
  });
  const replayed = new Map<string, Row>();
  let unavailable = 0;
  for (const m of messages) {
    const d = await decoder.decode({
      topic: cdcTopic,
      partition: m.partition,
      offset: m.offset,
      timestamp: '0',
      key: m.key,
      value: m.value,
      headers: {},
    });
    if (d.kind !== 'cdc' || d.entityId === null) continue;
    if (d.op === 'd') replayed.delete(d.entityId);
    else if (d.after !== null) {
      if (Object.values(d.after).some((x) => x === '__debezium_unavailable_value')) unavailable++;
      replayed.set(d.entityId, fillUnavailable(d.after, replayed.get(d.entityId) ?? null));
    }
  }
  assert.deepEqual(new Set(replayed.keys()), new Set(table.keys()), 'the decoder replay has the table rows');
  for (const [id, row] of table) {
    const got = replayed.get(id) as Row;
    for (const [c, want] of Object.entries(row))
      assert.deepEqual(got[c] ?? null, want, `row ${id}, column ${c}`);
  }
  if (v.addColumn) assert.ok(unavailable > 0, 'some updates left the TOASTed column unavailable');

  // 7. the oracle: final table + events + the commit time of each row's newest change
  const newest = new Map<string, RawChange>();
  const seenChange = new Set<string>();
  const touched = new Set<string>();
  let redelivered = 0;
  for (const c of raw.changes) {
    const k = `${c.id}/${c.op}/${c.lsn}`;
    if (seenChange.has(k)) redelivered++;
    seenChange.add(k);
    if (c.op !== 'r') touched.add(c.id);
    const cur = newest.get(c.id);
    if (cur === undefined || c.lsn >= cur.lsn) newest.set(c.id, c);
  }
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

  // 8. a snapshot row nothing changed and no event touched is scored exactly once
  const quiet = [...snapshotIds].filter((id) => !touched.has(id) && !events.has(id));
  assert.ok(quiet.length >= 10, `enough untouched snapshot rows (${quiet.length})`);
  for (const id of quiet) {
    const n = predictions.filter((p) => p.entity_id === id).length;
    assert.equal(n, 1, `snapshot-only customer ${id}: one prediction event, got ${n}`);
  }
  t.diagnostic(
    `${v.converter}, decimals ${v.decimals}${v.replicaIdentityFull ? ', REPLICA IDENTITY FULL' : ''}: SQL ${counts.inserts} inserts (300 before the snapshot), ${counts.updates} updates (${counts.bulkRows} in one transaction, ${counts.repeatedUpdates} of one row in one transaction), ${counts.deletes} deletes, ${counts.keyChanges} key changes, ${counts.transactions} multi-statement transactions${v.addColumn ? `, a column added mid-stream (${toasted} TOASTed values, ${unavailable} changes without them)` : ''}; Debezium ${raw.changes.length} changes + ${raw.tombstones} tombstones, ${redelivered} re-sent${v.faults ? ' after the worker was killed' : ''}; ${transactions.length} card transactions; ${expected.size} entities checked, ${quiet.length} snapshot-only rows scored once`,
  );
}

async function registryVersions(
  url: string,
  subject: string,
  converter: Variant['converter'],
): Promise<number[]> {
  if (converter !== 'avro') return [];
  const res = await fetch(`${url}/subjects/${subject}/versions`);
  return res.ok ? ((await res.json()) as number[]) : [];
}

async function setCompatibility(url: string, subject: string, level: string): Promise<void> {
  const res = await fetch(`${url}/config/${subject}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  assert.ok(res.ok, `setting ${subject} to ${level}: HTTP ${res.status} ${await res.text()}`);
}

test('real CDC, JsonConverter with schemas, decimals precise: a connector restart and a SIGKILLed Connect worker mid-stream duplicate nothing; Redis and the predictions equal the oracle of the final table', async (t) => {
  await runScenario(
    t,
    {
      converter: 'json-schemas',
      decimals: 'precise',
      replicaIdentityFull: false,
      faults: true,
      addColumn: false,
    },
    91,
  );
});

test('real CDC, JsonConverter without schemas, decimal.handling.mode=string, REPLICA IDENTITY FULL: the declared schema reads it; Redis and the predictions equal the oracle', async (t) => {
  await runScenario(
    t,
    {
      converter: 'json-plain',
      decimals: 'string',
      replicaIdentityFull: true,
      faults: false,
      addColumn: false,
    },
    92,
  );
});

test('real CDC, Avro through the registry (Confluent wire format): ALTER TABLE ADD COLUMN mid-stream registers a BACKWARD-compatible writer schema and scoring goes on; a TOASTed column left unchanged is not overwritten', async (t) => {
  await runScenario(
    t,
    { converter: 'avro', decimals: 'precise', replicaIdentityFull: false, faults: false, addColumn: true },
    93,
  );
});

test('real CDC, JsonConverter with schemas, decimal.handling.mode=double: columns added mid-stream (boolean, a TOASTed text left unchanged); Redis and the predictions equal the oracle', async (t) => {
  await runScenario(
    t,
    {
      converter: 'json-schemas',
      decimals: 'double',
      replicaIdentityFull: false,
      faults: false,
      addColumn: true,
    },
    94,
  );
});
