/**
 * Decode micro-benchmark: µs per record of the decode stage on generated sample records (src/sample, Avro,
 * Confluent-framed), every variant timed in the same run and interleaved, so box noise hits them alike.
 * Not part of `npm run bench` and never a test. Run: `npm run build && node dist/bench/decode.js`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import avro from 'avsc';
import { createDecoder } from '../src/decode/index.js';
import type { RawRecord, RecordDecoder, WriterSchemaSource } from '../src/decode/index.js';
import { parseFeatureSpec, profileFields } from '../src/features/index.js';
import { encodeRecord, generateStream, readSampleSchemas } from '../src/sample/index.js';
import type { SampleSchemaIds } from '../src/sample/index.js';

const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const IDS: SampleSchemaIds = { cdcKey: 1, cdcValue: 2, transactionValue: 3 };

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '4000' },
    repeats: { type: 'string', default: '15' },
    model: { type: 'string', default: 'models/churn/2/model.json' },
  },
});

const texts = readSampleSchemas();
const schemas: WriterSchemaSource = {
  avroSchema: async (id) =>
    id === IDS.cdcKey ? texts.cdcKey : id === IDS.cdcValue ? texts.cdcValue : texts.transactionValue,
};
const manifest = JSON.parse(readFileSync(PROJECT_DIR + args.model, 'utf8')) as { feature_spec: unknown };
const rowFields = profileFields(parseFeatureSpec(manifest.feature_spec));

function raw(topic: string, i: number, key: Buffer, value: Buffer | null): RawRecord {
  return { topic, partition: 0, offset: String(i), timestamp: '0', key, value, headers: {} };
}

const stream = generateStream({ seed: 42, customers: Number(args.customers) });
const cdc = stream.cdc.map((r, i) => {
  const e = encodeRecord('avro', r, IDS);
  return raw('cdc.bank.customers', i, e.key, e.value);
});
const txns = stream.transactions.map((r, i) => {
  const e = encodeRecord('avro', r, IDS);
  return raw('transactions', i, e.key, e.value);
});

const cdcOptions = { topic: 'cdc.bank.customers', format: 'avro' } as const;
const txnOptions = { topic: 'transactions', format: 'avro' } as const;
const plainTxn = avro.Type.forSchema(JSON.parse(texts.transactionValue) as avro.Schema);

interface Variant {
  readonly name: string;
  readonly records: readonly RawRecord[];
  readonly run: (r: RawRecord) => unknown;
  readonly prepare?: () => Promise<void>;
}

function decoderVariant(name: string, records: readonly RawRecord[], d: RecordDecoder): Variant {
  return { name, records, run: (r) => d.decodeSync(r), prepare: () => d.prepare(records) };
}

const cdcDecoder = (extra: { rowFields?: readonly string[]; avsc?: boolean }) =>
  createDecoder({
    kind: 'cdc',
    options: cdcOptions,
    writerSchemas: schemas,
    avro: { avsc: extra.avsc === true },
    ...(extra.rowFields === undefined ? {} : { rowFields: extra.rowFields }),
  });
const txnDecoder = (avsc: boolean) =>
  createDecoder({ kind: 'events', options: txnOptions, writerSchemas: schemas, avro: { avsc } });

// "avsc" variants are the decoder as it was before the compiled reader (avsc + converter), kept as the
// reference path behind `avro.avsc`.
const variants: Variant[] = [
  decoderVariant('cdc: avsc, all columns', cdc, cdcDecoder({ avsc: true })),
  decoderVariant('cdc: compiled, all columns', cdc, cdcDecoder({})),
  decoderVariant(`cdc: compiled, spec columns (${rowFields.length})`, cdc, cdcDecoder({ rowFields })),
  decoderVariant('transactions: avsc', txns, txnDecoder(true)),
  decoderVariant('transactions: compiled', txns, txnDecoder(false)),
  {
    name: 'transactions: plain avsc, no decoder',
    records: txns,
    run: (r) => plainTxn.fromBuffer(r.value!.subarray(5)),
  },
];

let sink = 0;
/** CPU time, not wall time: on a shared box, time spent descheduled would otherwise count as decoding. */
function timeOnce(v: Variant): number {
  const start = process.cpuUsage();
  for (const r of v.records) if (v.run(r) !== undefined) sink++;
  const used = process.cpuUsage(start);
  return (used.user + used.system) / v.records.length;
}

const repeats = Number(args.repeats);
const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) {
  await v.prepare?.();
  timeOnce(v); // warm-up: compile schemas, let V8 optimise
}
for (let i = 0; i < repeats; i++) for (const v of variants) samples.get(v.name)!.push(timeOnce(v));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${cdc.length} CDC records, ${txns.length} transactions (seed 42, ${args.customers} customers), ` +
    `${repeats} interleaved repeats; CPU µs per record`,
);
for (const [name, xs] of samples) {
  console.log(
    `  ${name.padEnd(34)} median ${median(xs).toFixed(2)}  min ${Math.min(...xs).toFixed(2)}  ` +
      `max ${Math.max(...xs).toFixed(2)}`,
  );
}
if (sink === 0) console.log('(nothing decoded)');
