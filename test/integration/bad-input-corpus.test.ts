/**
 * Invariant: bad input never stops the stream and is never scored. A corpus of distinct bad records over
 * both encodings (Avro and JSON; events and Debezium changes) is mixed into a clean sample stream: each bad
 * record lands in the DLQ exactly once with the reason code the test expects (from docs/errors.md's closed
 * list), the records that are valid but change nothing (op=m, a tombstone for a row never seen) do not, the
 * good records end in Redis and on the prediction topic exactly as the clean stream's oracle says, the
 * audit counts reconcile with the input offsets, and every partition catches up (none stalls).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import avro from 'avsc';
import { frame } from '../../src/adapters/confluent-frame.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import {
  encodeCdcKey,
  encodeCdcValue,
  generateStream,
  produceSample,
  registerSampleSchemas,
} from '../../src/sample/index.js';
import type { CdcRecord, TransactionValue } from '../../src/sample/index.js';
import { readTopic, waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { createTestEnv } from '../helpers/services.js';
import { assertEndStateMatchesOracle, readAudits } from '../helpers/verify.js';

type Input = 'avroTx' | 'jsonTx' | 'avroCdc' | 'jsonCdc';
interface Case {
  readonly name: string;
  readonly input: Input;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** A reason code (→ DLQ), or what a valid record that changes nothing becomes. */
  readonly expect: string | 'accepted';
  readonly timestamp?: number;
}

const CASE_HEADER = 'corpus-case';

test('bad-input corpus: every bad record in the DLQ once with its reason; good ones scored as a clean run; audits reconcile; nothing stalls', async () => {
  const env = await createTestEnv('corpus');
  const { prefix } = env;
  const topics: Record<Input, string> = {
    avroCdc: `${prefix}cdc.bank.customers`,
    avroTx: `${prefix}transactions`,
    jsonCdc: `${prefix}cdc-json`,
    jsonTx: `${prefix}transactions-json`,
  };
  const admin = env.kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [topics.jsonCdc, topics.jsonTx].map((topic) => ({ topic, numPartitions: 3 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const config = env.configWith({
    inputs: {
      cdc: [
        ...env.config.inputs.cdc,
        { topic: topics.jsonCdc, format: 'json', schemaFile: 'schemas/cdc.bank.customers-value.avsc' },
      ],
      events: [
        ...env.config.inputs.events,
        { topic: topics.jsonTx, format: 'json', schemaFile: 'schemas/transactions-value.avsc' },
      ],
    },
  });

  const stream = generateStream({
    seed: 101,
    customers: 60,
    transactionsPerCustomer: 5,
    partitions: 3,
    deleteRate: 0.1,
  });
  const registry = createRegistryClient(config.registry);
  const ids = await registerSampleSchemas(registry, topics.avroCdc, topics.avroTx);
  // schemas a misbehaving producer might write with
  const unrelated = { type: 'record', name: 'Other', fields: [{ name: 'foo', type: 'string' }] };
  const unrelatedId = await registry.register(`${prefix}other-value`, JSON.stringify(unrelated), 'BACKWARD');
  const stringy = {
    type: 'record',
    name: 'Transaction',
    namespace: 'bank.events',
    fields: [
      { name: 'txn_id', type: 'string' },
      { name: 'customer_id', type: 'long' },
      { name: 'amount', type: 'string' },
      { name: 'event_time', type: 'long' },
    ],
  };
  const stringyId = await registry.register(`${prefix}stringy-value`, JSON.stringify(stringy), 'BACKWARD');
  const jsonSchemaRes = await fetch(`${config.registry.url}/subjects/${prefix}jsonschema-value/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schemaType: 'JSON', schema: JSON.stringify({ type: 'object' }) }),
  });
  const jsonSchemaId = ((await jsonSchemaRes.json()) as { id?: number }).id;

  // templates: a real transaction and a real update of the stream
  const tx = stream.transactions[0]?.value as TransactionValue;
  const cdcTemplate = stream.cdc.find((r) => r.value?.op === 'u') as CdcRecord & {
    value: NonNullable<CdcRecord['value']>;
  };
  const at = cdcTemplate.value.source.ts_ms; // the record timestamp of the corpus: the change's commit time
  const txAt = { ...tx, event_time: at - 60_000 };
  const txType = avro.Type.forSchema(
    JSON.parse(readFileSync('schemas/transactions-value.avsc', 'utf8')) as avro.Schema,
  );
  const avroTx = (v: Record<string, unknown>) => frame(ids.transactionValue, txType.toBuffer(v));
  const goodAvroTx = avroTx(txAt);
  const jsonTx = (v: unknown) => Buffer.from(JSON.stringify(v));
  const key = (s = String(tx.customer_id)) => Buffer.from(s);
  const cdcKey = encodeCdcKey('avro', cdcTemplate.key, ids);
  const jsonCdcKey = encodeCdcKey('json', cdcTemplate.key);
  const cdcWith = (
    format: 'avro' | 'json',
    patch: Record<string, unknown>,
    after?: Record<string, unknown>,
  ) =>
    encodeCdcValue(
      format,
      {
        ...cdcTemplate.value,
        ...patch,
        after:
          after === undefined ? cdcTemplate.value.after : ({ ...cdcTemplate.value.after, ...after } as never),
      } as never,
      ids,
    ) as Buffer;

  /** A JSON change with `after` fields set to values no encoder of ours would write. */
  const jsonCdcRaw = (after: Record<string, unknown>, top: Record<string, unknown> = {}) => {
    const v = { ...(JSON.parse(cdcWith('json', {}).toString()) as object), ...top } as {
      after: Record<string, unknown>;
    };
    v.after = { ...v.after, ...after };
    return Buffer.from(JSON.stringify(v));
  };

  const cases: Case[] = [];
  const add = (
    input: Input,
    name: string,
    k: Buffer | null,
    value: Buffer | null,
    expect: string,
    timestamp?: number,
  ) => cases.push({ name, input, key: k, value, expect, ...(timestamp === undefined ? {} : { timestamp }) });

  // ---- Avro events: framing, schemas, corrupt bytes
  add('avroTx', 'empty value', key(), Buffer.alloc(0), 'SS_DECODE_FAILED');
  add('avroTx', 'null value on an event topic', key(), null, 'SS_CONTRACT_VIOLATION');
  add('avroTx', 'magic byte 1', key(), Buffer.from([1, ...goodAvroTx.subarray(1)]), 'SS_DECODE_FAILED');
  add('avroTx', 'plain text', key(), Buffer.from('hello world'), 'SS_DECODE_FAILED');
  for (const n of [1, 3, 4])
    add('avroTx', `${n}-byte value`, key(), goodAvroTx.subarray(0, n), 'SS_DECODE_FAILED');
  for (const id of [987654, 987655, 2_000_000_000])
    add('avroTx', `unknown schema id ${id}`, key(), frame(id, goodAvroTx.subarray(5)), 'SS_UNKNOWN_SCHEMA');
  if (jsonSchemaId !== undefined)
    add(
      'avroTx',
      'a JSON-Schema id',
      key(),
      frame(jsonSchemaId, goodAvroTx.subarray(5)),
      'SS_UNKNOWN_SCHEMA',
    );
  for (const cut of [6, 8, 12, 20, goodAvroTx.length - 9, goodAvroTx.length - 1])
    add('avroTx', `truncated at ${cut}`, key(), goodAvroTx.subarray(0, cut), 'SS_DECODE_FAILED');
  add(
    'avroTx',
    'trailing bytes',
    key(),
    Buffer.concat([goodAvroTx, Buffer.from([1, 2, 3])]),
    'SS_DECODE_FAILED',
  );
  add(
    'avroTx',
    'negative string length',
    key(),
    Buffer.concat([goodAvroTx.subarray(0, 5), Buffer.from([0x03])]),
    'SS_DECODE_FAILED',
  );
  {
    // the enum index of `type` out of range: txn_id, customer_id and amount first, then the enum
    const body = Buffer.from(goodAvroTx.subarray(5));
    const enumAt =
      avro.Type.forSchema('string').toBuffer(txAt.txn_id).length +
      avro.Type.forSchema('long').toBuffer(txAt.customer_id).length +
      8;
    body[enumAt] = 0x7e;
    add('avroTx', 'enum index out of range', key(), frame(ids.transactionValue, body), 'SS_DECODE_FAILED');
  }
  add(
    'avroTx',
    'written with an unrelated schema',
    key(),
    frame(unrelatedId, avro.Type.forSchema(unrelated as avro.Schema).toBuffer({ foo: 'bar' })),
    'SS_FIELD_MISSING',
  );
  add(
    'avroTx',
    'unrelated schema and no key',
    null,
    frame(unrelatedId, avro.Type.forSchema(unrelated as avro.Schema).toBuffer({ foo: 'x' })),
    'SS_MISSING_ENTITY_ID',
  );
  add(
    'avroTx',
    'amount written as a string',
    key(),
    frame(
      stringyId,
      avro.Type.forSchema(stringy as avro.Schema).toBuffer({
        txn_id: 's1',
        customer_id: tx.customer_id,
        amount: '12.50',
        event_time: at - 1000,
      }),
    ),
    'SS_FIELD_TYPE',
  );
  for (const [name, amount] of [
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ] as const)
    add('avroTx', `amount ${name}`, key(), avroTx({ ...txAt, amount }), 'SS_FIELD_TYPE');
  for (const amount of [-0.01, -500, 1_000_000.01, 1e12])
    add('avroTx', `amount ${amount}`, key(), avroTx({ ...txAt, amount }), 'SS_FIELD_RANGE');
  for (const mcc of ['12', 'abcd', '', '54111', ' 541'])
    add('avroTx', `mcc ${JSON.stringify(mcc)}`, key(), avroTx({ ...txAt, mcc }), 'SS_FIELD_RANGE');
  for (const txn of ['', 'x'.repeat(65), 'y'.repeat(5000)])
    add('avroTx', `txn_id of ${txn.length} chars`, key(), avroTx({ ...txAt, txn_id: txn }), 'SS_FIELD_RANGE');
  add(
    'avroTx',
    'event time in 1900',
    key(),
    avroTx({ ...txAt, event_time: Date.UTC(1900, 0, 1) }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroTx',
    'event time in 2999',
    key(),
    avroTx({ ...txAt, event_time: Date.UTC(2999, 0, 1) }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroTx',
    'event time 1 h after the record',
    key(),
    avroTx({ ...txAt, event_time: at + 3_600_000 }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroTx',
    'event time 10 min after the record',
    key(),
    avroTx({ ...txAt, event_time: at + 600_000 }),
    'SS_TIME_RANGE',
    at,
  );
  add('avroTx', 'event time 0', key(), avroTx({ ...txAt, event_time: 0 }), 'SS_TIME_RANGE', at);
  add(
    'avroTx',
    'event time negative',
    key(),
    avroTx({ ...txAt, event_time: -86_400_000 }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroTx',
    'event time in seconds',
    key(),
    avroTx({ ...txAt, event_time: Math.floor((at - 60_000) / 1000) }),
    'SS_TIME_UNIT',
    at,
  );
  add(
    'avroTx',
    'event time in microseconds',
    key(),
    avroTx({ ...txAt, event_time: (at - 60_000) * 1000 }),
    'SS_TIME_UNIT',
    at,
  );
  add(
    'avroTx',
    'event time in the year 9999',
    key(),
    avroTx({ ...txAt, event_time: Date.UTC(9999, 0, 1) }),
    'SS_TIME_RANGE',
    at,
  );
  add('avroTx', 'key not a number', key('abc'), goodAvroTx, 'SS_ENTITY_ID_INVALID');
  add('avroTx', 'key of 40 digits', key('1'.repeat(40)), goodAvroTx, 'SS_ENTITY_ID_INVALID');
  add('avroTx', 'key not UTF-8', Buffer.from([0x31, 0xc3, 0x28]), goodAvroTx, 'SS_ENTITY_ID_INVALID');
  add('avroTx', 'key with a newline', key('12\n3'), goodAvroTx, 'SS_ENTITY_ID_INVALID');

  // ---- JSON events
  const j = { ...txAt } as Record<string, unknown>;
  const without = (f: string) => Object.fromEntries(Object.entries(j).filter(([k]) => k !== f));
  for (const [name, text] of [
    ['truncated JSON', '{"txn_id":"a",'],
    ['not JSON', 'not json at all'],
    ['NaN literal', `{"txn_id":"n","customer_id":${tx.customer_id},"amount":NaN}`],
    ['single quotes', "{'txn_id':'q'}"],
    ['trailing comma', '{"txn_id":"t",}'],
  ] as const)
    add('jsonTx', name, key(), Buffer.from(text), 'SS_DECODE_FAILED');
  add(
    'jsonTx',
    'invalid UTF-8',
    key(),
    Buffer.concat([Buffer.from('{"txn_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    'SS_DECODE_FAILED',
  );
  for (const [name, text] of [
    ['array', '[1,2]'],
    ['string', '"txn"'],
    ['number', '42'],
    ['null literal', 'null'],
    ['boolean', 'true'],
  ] as const)
    add('jsonTx', `a JSON ${name}`, key(), Buffer.from(text), 'SS_DECODE_FAILED');
  add('jsonTx', 'unreadable Connect schema', key(), jsonTx({ schema: 5, payload: j }), 'SS_DECODE_FAILED');
  for (const [field, value] of [
    ['amount', '12.5'],
    ['amount', true],
    ['amount', 'NaN'],
    ['amount', {}],
    ['amount', [1]],
    ['declined', 'true'],
    ['declined', 1],
    ['declined', 'no'],
    ['customer_id', 'abc'],
    ['customer_id', 7.5],
    ['customer_id', '42'],
    ['type', 'refund'],
    ['type', 3],
    ['channel', 5],
    ['channel', 'CARD'],
    ['mcc', 5411],
    ['txn_id', 123],
    ['event_time', 'noon'],
    ['event_time', true],
  ] as const)
    add(
      'jsonTx',
      `${field} = ${JSON.stringify(value)}`,
      key(),
      jsonTx({ ...j, [field]: value }),
      'SS_FIELD_TYPE',
    );
  add(
    'jsonTx',
    'amount 1e999 (Infinity)',
    key(),
    Buffer.from(JSON.stringify(j).replace(/"amount":[^,]+/, '"amount":1e999')),
    'SS_FIELD_TYPE',
  );
  for (const f of ['amount', 'type', 'channel', 'mcc', 'declined', 'txn_id'])
    add('jsonTx', `missing ${f}`, key(), jsonTx(without(f)), 'SS_FIELD_MISSING');
  add('jsonTx', 'amount null', key(), jsonTx({ ...j, amount: null }), 'SS_FIELD_MISSING');
  add('jsonTx', 'missing event_time', key(), jsonTx(without('event_time')), 'SS_FIELD_MISSING');
  add('jsonTx', 'no key and no customer_id', null, jsonTx(without('customer_id')), 'SS_MISSING_ENTITY_ID');
  add(
    'jsonTx',
    'oversized record (200 KB string)',
    key(),
    jsonTx({ ...j, mcc: 'z'.repeat(200_000) }),
    'SS_FIELD_RANGE',
  );
  add('jsonTx', 'amount 5e6', key(), jsonTx({ ...j, amount: 5e6 }), 'SS_FIELD_RANGE');
  add(
    'jsonTx',
    'ISO time in 1900',
    key(),
    jsonTx({ ...j, event_time: '1900-01-01T00:00:00Z' }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'jsonTx',
    'ISO time in 2999',
    key(),
    jsonTx({ ...j, event_time: '2999-01-01T00:00:00Z' }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'jsonTx',
    'time in seconds',
    key(),
    jsonTx({ ...j, event_time: Math.floor((at - 60_000) / 1000) }),
    'SS_TIME_UNIT',
    at,
  );
  add(
    'jsonTx',
    'time in microseconds',
    key(),
    jsonTx({ ...j, event_time: (at - 60_000) * 1000 }),
    'SS_TIME_UNIT',
    at,
  );
  add(
    'jsonTx',
    'time in nanoseconds (beyond 2^53)',
    key(),
    Buffer.from(
      JSON.stringify(j).replace(/"event_time":\d+/, `"event_time":${BigInt(at - 60_000) * 1_000_000n}`),
    ),
    'SS_TIME_UNIT',
    at,
  );
  add('jsonTx', 'key of 21 digits', key('9'.repeat(21)), jsonTx(j), 'SS_ENTITY_ID_INVALID');

  // ---- Avro Debezium changes
  add('avroCdc', 'unknown op x', cdcKey, cdcWith('avro', { op: 'x' }), 'SS_CDC_UNKNOWN_OP');
  add('avroCdc', 'unknown op U', cdcKey, cdcWith('avro', { op: 'U' }), 'SS_CDC_UNKNOWN_OP');
  add(
    'avroCdc',
    'truncate',
    cdcKey,
    cdcWith('avro', { op: 't', before: null, after: null }),
    'SS_CDC_TRUNCATE',
  );
  add(
    'avroCdc',
    'message (op=m) is skipped',
    cdcKey,
    cdcWith('avro', { op: 'm', before: null, after: null }),
    'accepted',
  );
  add(
    'avroCdc',
    'update without after',
    cdcKey,
    encodeCdcValue('avro', { ...cdcTemplate.value, after: null }, ids) as Buffer,
    'SS_CONTRACT_VIOLATION',
  );
  add(
    'avroCdc',
    'tombstone of a row never seen',
    encodeCdcKey('avro', { id: 990001 }, ids),
    null,
    'accepted',
  );
  for (const [name, after, code] of [
    ['age 400', { age: 400 }, 'SS_FIELD_RANGE'],
    ['age -1', { age: -1 }, 'SS_FIELD_RANGE'],
    ['region mars', { region: 'mars' }, 'SS_FIELD_RANGE'],
    ['segment vip', { segment: 'vip' }, 'SS_FIELD_RANGE'],
    ['utilisation NaN', { utilisation: Number.NaN }, 'SS_FIELD_TYPE'],
    ['utilisation 50', { utilisation: 50 }, 'SS_FIELD_RANGE'],
    ['balance 10^10', { balance: 1e10 }, 'SS_FIELD_RANGE'],
    ['credit limit negative', { credit_limit: -100 }, 'SS_FIELD_RANGE'],
    ['products 1000', { products_held: 1000 }, 'SS_FIELD_RANGE'],
    ['region of 300 chars', { region: 'n'.repeat(300) }, 'SS_FIELD_RANGE'],
  ] as const)
    add('avroCdc', name, cdcKey, cdcWith('avro', {}, after as Record<string, unknown>), code);
  const src = cdcTemplate.value.source;
  add(
    'avroCdc',
    'source.ts_ms in 1900',
    cdcKey,
    cdcWith('avro', { source: { ...src, ts_ms: Date.UTC(1900, 0, 1) } }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroCdc',
    'source.ts_ms a day ahead',
    cdcKey,
    cdcWith('avro', { source: { ...src, ts_ms: at + 86_400_000 } }),
    'SS_TIME_RANGE',
    at,
  );
  add(
    'avroCdc',
    'source.ts_ms in seconds',
    cdcKey,
    cdcWith('avro', { source: { ...src, ts_ms: Math.floor(at / 1000) } }),
    'SS_TIME_UNIT',
    at,
  );
  add(
    'avroCdc',
    'source.ts_ms in microseconds',
    cdcKey,
    cdcWith('avro', { source: { ...src, ts_ms: at * 1000 } }),
    'SS_TIME_UNIT',
    at,
  );
  add('avroCdc', 'key not a number', Buffer.from('abc'), cdcWith('avro', {}), 'SS_ENTITY_ID_INVALID');
  add('avroCdc', 'CDC value truncated', cdcKey, cdcWith('avro', {}).subarray(0, 30), 'SS_DECODE_FAILED');
  add(
    'avroCdc',
    'CDC value unknown schema',
    cdcKey,
    frame(987656, cdcWith('avro', {}).subarray(5)),
    'SS_UNKNOWN_SCHEMA',
  );

  // ---- JSON Debezium changes (schemas.enable=false, the declared schema supplies decimal scales)
  add(
    'jsonCdc',
    'envelope without op',
    jsonCdcKey,
    Buffer.from('{"before":null,"after":{"id":1}}'),
    'SS_DECODE_FAILED',
  );
  add('jsonCdc', 'unknown op z', jsonCdcKey, cdcWith('json', { op: 'z' }), 'SS_CDC_UNKNOWN_OP');
  add(
    'jsonCdc',
    'truncate',
    jsonCdcKey,
    cdcWith('json', { op: 't', before: null, after: null }),
    'SS_CDC_TRUNCATE',
  );
  add(
    'jsonCdc',
    'create without after',
    jsonCdcKey,
    encodeCdcValue('json', { ...cdcTemplate.value, op: 'c', after: null }) as Buffer,
    'SS_CONTRACT_VIOLATION',
  );
  add('jsonCdc', 'age as text', jsonCdcKey, jsonCdcRaw({ age: '40' }), 'SS_FIELD_TYPE');
  add('jsonCdc', 'age 45.5', jsonCdcKey, jsonCdcRaw({ age: 45.5 }), 'SS_FIELD_TYPE');
  add(
    'jsonCdc',
    'balance not a decimal',
    jsonCdcKey,
    jsonCdcRaw({ balance: 'lots of money' }),
    'SS_FIELD_TYPE',
  );
  add('jsonCdc', 'region as a number', jsonCdcKey, jsonCdcRaw({ region: 3 }), 'SS_FIELD_TYPE');
  add(
    'jsonCdc',
    'no id in key, before or after',
    null,
    jsonCdcRaw({ id: null }, { before: null }),
    'SS_MISSING_ENTITY_ID',
  );
  add(
    'jsonCdc',
    'lsn not a number',
    jsonCdcKey,
    cdcWith('json', { source: { ...src, lsn: 'abc' } }),
    'SS_CONTRACT_VIOLATION',
  );
  add(
    'jsonCdc',
    'source.ts_ms in 2999',
    jsonCdcKey,
    cdcWith('json', { source: { ...src, ts_ms: Date.UTC(2999, 0, 1) } }),
    'SS_TIME_RANGE',
    at,
  );
  add('jsonCdc', 'invalid JSON', jsonCdcKey, Buffer.from('{"op":"u","after":'), 'SS_DECODE_FAILED');

  const names = new Set(cases.map((c) => `${c.input}: ${c.name}`));
  assert.equal(names.size, cases.length, 'every case is distinct');
  assert.ok(cases.length >= 100, `the corpus has ${cases.length} cases`);

  // the clean stream: first half, the corpus, second half (its transactions as JSON on the JSON topic)
  const half = <T>(xs: readonly T[], second: boolean) =>
    xs.slice(second ? Math.floor(xs.length / 2) : 0, second ? xs.length : Math.floor(xs.length / 2));
  await produceSample(
    env.kafka,
    registry,
    { cdc: half(stream.cdc, false), transactions: half(stream.transactions, false) },
    {
      format: 'avro',
      cdcTopic: topics.avroCdc,
      transactionsTopic: topics.avroTx,
    },
  );
  const producer = env.kafka.producer();
  await producer.connect();
  for (const input of Object.keys(topics) as Input[]) {
    const mine = cases.filter((c) => c.input === input);
    await producer.send({
      topic: topics[input],
      messages: mine.map((c, i) => ({
        partition: i % 3,
        key: c.key,
        value: c.value,
        headers: { [CASE_HEADER]: c.name },
        ...(c.timestamp === undefined ? { timestamp: String(at) } : { timestamp: String(c.timestamp) }),
      })),
    });
  }
  await producer.disconnect();
  await produceSample(
    env.kafka,
    registry,
    { cdc: half(stream.cdc, true), transactions: [] },
    {
      format: 'avro',
      cdcTopic: topics.avroCdc,
      transactionsTopic: topics.avroTx,
    },
  );
  await produceSample(
    env.kafka,
    registry,
    { cdc: [], transactions: half(stream.transactions, true) },
    {
      format: 'json',
      cdcTopic: topics.jsonCdc,
      transactionsTopic: topics.jsonTx,
    },
  );

  const p = spawnPipeline(config);
  await waitCaughtUp(env.kafka, config.consumer.groupId, Object.values(topics), 180000);
  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));

  // each bad record in the DLQ once, with the expected reason
  const dlq = await readTopic(env.kafka, config.outputs.dlq, { idleMs: 1500 });
  const got = new Map<string, string[]>();
  for (const m of dlq) {
    const name = `${String(m.headers['ss.source.topic'])}: ${String(m.headers[CASE_HEADER] ?? '(no case header)')}`;
    got.set(name, [...(got.get(name) ?? []), String(m.headers['ss.error.code'])]);
  }
  const wrong: string[] = [];
  const byReason = new Map<string, number>();
  for (const c of cases) {
    const name = `${topics[c.input]}: ${c.name}`;
    const codes = got.get(name) ?? [];
    got.delete(name);
    const want = c.expect === 'accepted' ? [] : [c.expect];
    if (JSON.stringify(codes) !== JSON.stringify(want))
      wrong.push(`${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(codes)}`);
    byReason.set(c.expect, (byReason.get(c.expect) ?? 0) + 1);
  }
  for (const [name, codes] of got) wrong.push(`${name}: unexpected DLQ entries ${JSON.stringify(codes)}`);
  assert.deepEqual(wrong, [], `${wrong.length} cases went wrong:\n${wrong.join('\n')}`);
  const dlqMessages = dlq.filter((m) => m.headers[CASE_HEADER] !== undefined);
  for (const m of dlqMessages) {
    assert.ok(String(m.headers['ss.error.message']).length > 0);
    assert.ok(String(m.headers['ss.batch.id']).startsWith('churn:'));
    assert.equal(String(m.headers['ss.pipeline']), 'churn');
  }

  // the good records: exactly what the clean stream's oracle says
  await assertEndStateMatchesOracle(env.kafka, config, stream, { p });

  // the audits account for every input offset once; the rejected ones are the DLQ's
  const audits = await readAudits(env.kafka, config);
  const received = audits.reduce((n, a) => n + a.counts.received, 0);
  const invalid = audits.reduce((n, a) => n + a.counts.invalid, 0);
  const covered = new Set<string>();
  for (const a of audits)
    for (const i of a.inputs)
      for (let o = i.first_offset; o <= i.last_offset; o++) {
        const k = `${i.topic}/${i.partition}@${o}`;
        assert.ok(!covered.has(k), `offset ${k} is in two committed windows`);
        covered.add(k);
      }
  assert.equal(received, stream.cdc.length + stream.transactions.length + cases.length);
  assert.equal(covered.size, received, 'the committed windows cover every input offset exactly once');
  assert.equal(invalid, dlq.length);
  assert.equal(invalid, cases.filter((c) => c.expect !== 'accepted').length);
  process.stdout.write(
    `# corpus: ${cases.length} cases; ${[...byReason]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}\n`,
  );
});
