/**
 * Prefill worker: generates the sample domain's stream (Debezium CDC of `customers` and card transactions,
 * Avro, seeded), cuts it at exactly `records` records in send-time order, and produces it to the run's input
 * topics. Runs in its own process so the generator's memory is gone before anything is timed.
 */
import { writeFileSync } from 'node:fs';
import { createKafkaClient } from '../../src/adapters/kafka.js';
import { createRegistryClient } from '../../src/adapters/registry.js';
import {
  encodeRecord,
  generateStream,
  produceSample,
  registerSampleSchemas,
} from '../../src/sample/index.js';
import type { CdcRecord, SampleRecord, TransactionRecord } from '../../src/sample/index.js';
import { configOf, readSpec, report, runMain } from './common.js';

export interface PrefillSpec {
  readonly config: unknown;
  readonly records: number;
  readonly partitions: number;
  readonly seed: number;
  readonly transactionsPerCustomer: number;
  /** Where to write the ids of customers alive at the end of the prefix (JSON array), for the latency load. */
  readonly aliveFile: string;
}

function recordsPerCustomer(spec: PrefillSpec): number {
  const pilot = generateStream({
    seed: spec.seed + 1,
    customers: 2000,
    transactionsPerCustomer: spec.transactionsPerCustomer,
    partitions: spec.partitions,
  });
  return (pilot.cdc.length + pilot.transactions.length) / 2000;
}

/** The first `n` records of both lists in send-time order (CDC first on ties, as produceSample sends them). */
function cut(cdc: readonly CdcRecord[], tx: readonly TransactionRecord[], n: number) {
  let i = 0;
  let j = 0;
  while (i + j < n && (i < cdc.length || j < tx.length)) {
    const a = cdc[i];
    const b = tx[j];
    if (a !== undefined && (b === undefined || a.atMs <= b.atMs)) i++;
    else j++;
  }
  return { cdc: cdc.slice(0, i), transactions: tx.slice(0, j) };
}

async function main(): Promise<void> {
  const spec = readSpec<PrefillSpec>();
  const config = configOf(spec.config);
  const started = performance.now();
  // the records per customer vary with the seed: generate, and generate more if it fell short
  let customers = Math.ceil((spec.records / recordsPerCustomer(spec)) * 1.03) + 10;
  let part: ReturnType<typeof cut>;
  for (;;) {
    const stream = generateStream({
      seed: spec.seed,
      customers,
      transactionsPerCustomer: spec.transactionsPerCustomer,
      partitions: spec.partitions,
    });
    part = cut(stream.cdc, stream.transactions, spec.records);
    const got = part.cdc.length + part.transactions.length;
    if (got >= spec.records) break;
    customers = Math.ceil(customers * (spec.records / got) * 1.05);
  }
  // customers with a profile at the end of the prefix: their transactions are scored (latency load)
  const alive = new Map<number, boolean>();
  for (const r of part.cdc)
    alive.set(r.key.id, r.value !== null && r.value.op !== 'd' && r.value.after !== null);
  const aliveIds = [...alive].filter(([, a]) => a).map(([id]) => id);
  writeFileSync(spec.aliveFile, JSON.stringify(aliveIds));

  const kafka = createKafkaClient(config.kafka);
  const registry = createRegistryClient(config.registry);
  const cdcTopic = config.inputs.cdc[0]?.topic as string;
  const transactionsTopic = config.inputs.events[0]?.topic as string;
  // record size from a 1-in-20 sample, encoded exactly as produceSample encodes
  const ids = await registerSampleSchemas(registry, cdcTopic, transactionsTopic);
  let bytes = 0;
  let sampled = 0;
  const every = (list: readonly SampleRecord[]) => {
    for (let k = 0; k < list.length; k += 20) {
      const e = encodeRecord('avro', list[k] as SampleRecord, ids);
      bytes += e.key.length + (e.value?.length ?? 0);
      sampled++;
    }
  };
  every(part.cdc);
  every(part.transactions);

  const produced = await produceSample(kafka, registry, part, {
    cdcTopic,
    transactionsTopic,
    format: 'avro',
    partitions: spec.partitions,
    batchSize: 5000,
  });
  report({
    records: produced.cdc + produced.transactions,
    cdc: produced.cdc,
    transactions: produced.transactions,
    customers,
    aliveCustomers: aliveIds.length,
    avgRecordBytes: bytes / Math.max(1, sampled),
    seconds: (performance.now() - started) / 1000,
    produceSeconds: produced.elapsedMs / 1000,
  });
}

runMain(main);
