/**
 * Property: decode + validate never crash. Random bytes and seeded mutations of valid records (every
 * encoding, events and changes) each end as exactly one of: a record kept or skipped, or a RecordRejected
 * whose code is one of the closed list of DLQ reasons. No other exception, no unhandled rejection, every
 * record accounted for.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createDecoder } from '../../../src/decode/index.js';
import type { RawRecord, RecordDecoder } from '../../../src/decode/index.js';
import { DLQ_REASONS, RecordRejected } from '../../../src/errors/index.js';
import { encodeRecord, generateStream, Random } from '../../../src/sample/index.js';
import type { SampleFormat } from '../../../src/sample/index.js';
import {
  compileCheck,
  loadContract,
  recordFields,
  rowFields,
  validate,
} from '../../../src/validate/index.js';
import type { RecordCheck } from '../../../src/validate/index.js';
import {
  CUSTOMER_VALUE_SCHEMA,
  customerSchemas,
  KEY_ID,
  TRANSACTION_SCHEMA,
  TXN_ID,
  VALUE_ID,
} from '../decode/fixtures.js';

const IDS = { cdcKey: KEY_ID, cdcValue: VALUE_ID, transactionValue: TXN_ID };
const REASONS = new Set<string>(DLQ_REASONS);

interface Input {
  readonly decoder: RecordDecoder;
  readonly check: RecordCheck;
  readonly topic: string;
}

function inputs(format: SampleFormat): { cdc: Input; tx: Input } {
  const json = format !== 'avro';
  const cdcContract = loadContract('.', 'cdc.bank.customers', {
    schemaFile: 'schemas/cdc.bank.customers-value.avsc',
  });
  const txContract = loadContract('.', 'transactions', { schemaFile: 'schemas/transactions-value.avsc' });
  return {
    cdc: {
      topic: 'cdc.bank.customers',
      decoder: createDecoder({
        kind: 'cdc',
        options: { topic: 'cdc.bank.customers', format: json ? 'json' : 'avro' },
        writerSchemas: customerSchemas(),
        declaredValueSchema: CUSTOMER_VALUE_SCHEMA,
        rowFields: ['tenure_months', 'age', 'balance', 'region', ...Object.keys(cdcContract.fields)],
      }),
      check: compileCheck({
        kind: 'cdc',
        contract: cdcContract,
        declared: rowFields(CUSTOMER_VALUE_SCHEMA),
        rowColumns: null,
      }),
    },
    tx: {
      topic: 'transactions',
      decoder: createDecoder({
        kind: 'events',
        options: { topic: 'transactions', format: json ? 'json' : 'avro' },
        writerSchemas: customerSchemas(),
        declaredValueSchema: TRANSACTION_SCHEMA,
      }),
      check: compileCheck({
        kind: 'events',
        contract: txContract,
        declared: recordFields(TRANSACTION_SCHEMA),
        timeField: 'event_time',
      }),
    },
  };
}

/** One of several mutations: flips, truncation, insertion, deletion, splicing, random bytes. */
function mutate(rng: Random, buf: Buffer, other: Buffer): Buffer {
  const b = Buffer.from(buf);
  switch (rng.int(0, 6)) {
    case 0:
      for (let k = rng.int(1, 4); k > 0 && b.length > 0; k--) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
      return b;
    case 1:
      return b.subarray(0, rng.int(0, b.length));
    case 2: {
      const at = rng.int(0, b.length);
      const extra = Buffer.from(Array.from({ length: rng.int(1, 8) }, () => rng.int(0, 255)));
      return Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    }
    case 3: {
      const at = rng.int(0, Math.max(0, b.length - 1));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + rng.int(1, 6))]);
    }
    case 4:
      return Buffer.concat([b.subarray(0, rng.int(0, b.length)), other.subarray(rng.int(0, other.length))]);
    case 5:
      return Buffer.from(Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 255)));
    default:
      // the bytes a JSON producer can get wrong: a digit, a quote, a brace
      for (let k = rng.int(1, 3); k > 0 && b.length > 0; k--)
        b[rng.int(0, b.length - 1)] = '0"{}[],:.-e'.charCodeAt(rng.int(0, 10));
      return b;
  }
}

test('decode + validate over random bytes and mutations of valid records: no crash, every record accounted for with a DLQ reason from the closed list', async () => {
  const stream = generateStream({ seed: 5, customers: 40, transactionsPerCustomer: 3, partitions: 3 });
  const rng = new Random(77);
  const outcomes = new Map<string, number>();
  let total = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (const format of ['avro', 'json', 'json-schema'] as const) {
      const { cdc, tx } = inputs(format);
      const samples = [...stream.cdc.slice(0, 60), ...stream.transactions.slice(0, 60)];
      const encoded = samples.map((r) => ({ r, e: encodeRecord(format, r, IDS) }));
      const records: Array<{ input: Input; raw: RawRecord }> = [];
      for (let i = 0; i < 1500; i++) {
        const { r, e } = encoded[rng.int(0, encoded.length - 1)] as (typeof encoded)[number];
        const other =
          (encoded[rng.int(0, encoded.length - 1)] as (typeof encoded)[number]).e.value ?? Buffer.alloc(0);
        const input = r.topic === 'cdc' ? cdc : tx;
        const mutateKey = rng.bernoulli(0.15);
        records.push({
          input,
          raw: {
            topic: input.topic,
            partition: 0,
            offset: String(i),
            timestamp: String(Date.UTC(2026, 0, 1)),
            key: mutateKey ? mutate(rng, e.key, other) : e.key,
            value: e.value === null || mutateKey ? e.value : mutate(rng, e.value, other),
            headers: {},
          },
        });
      }
      for (const input of [cdc, tx])
        await input.decoder.prepare(records.filter((x) => x.input === input).map((x) => x.raw));
      for (const { input, raw } of records) {
        total += 1;
        let outcome: string;
        try {
          outcome = validate(
            input.decoder.decodeSync(raw),
            raw,
            { onTruncate: 'dlq', check: input.check },
            Date.UTC(2026, 0, 1),
          );
        } catch (err) {
          assert.ok(
            err instanceof RecordRejected,
            `${format} record ${raw.offset} threw ${String(err)}\n${raw.value?.toString('hex')}`,
          );
          assert.ok(REASONS.has(err.code), `${err.code} is not a DLQ reason`);
          assert.ok(err.message.length > 0);
          outcome = err.code;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  assert.equal(
    [...outcomes.values()].reduce((a, b) => a + b, 0),
    total,
    'every record has exactly one outcome',
  );
  process.stdout.write(
    `# fuzz: ${total} records; ${[...outcomes]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}\n`,
  );
  // the mutations reach the decode failures and the contract's checks alike
  for (const code of ['keep', 'SS_DECODE_FAILED', 'SS_FIELD_TYPE'])
    assert.ok((outcomes.get(code) ?? 0) > 0, `no record ended as ${code}: ${JSON.stringify([...outcomes])}`);
});
