/**
 * Puts a generated sample stream on Kafka the way its producers would: schemas registered under
 * TopicNameStrategy subjects (Avro), records encoded like Debezium / the transactions service, each sent to
 * its explicit partition in list order. The two topics are interleaved by simulated send time, so a consumer
 * reading both sees CDC changes and transactions of the same period together.
 */
import { setImmediate } from 'node:timers/promises';
import { createPlainProducer, type PlainMessage } from '../adapters/kafka-produce.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { SchemaRegistryClient } from '../adapters/registry.js';
import { encodeRecord, readSampleSchemas, type SampleFormat, type SampleSchemaIds } from './encode.js';
import { kafkaPartition } from './partition.js';
import type { SampleRecord, SampleStream } from './types.js';

export interface ProduceSampleOptions {
  readonly cdcTopic: string;
  readonly transactionsTopic: string;
  readonly format: SampleFormat;
  /**
   * Partition count of the topics. When given, every record is (re)assigned with Kafka's default partitioner
   * for that count; records of one key keep their relative order either way. Default: the stream's own.
   */
  readonly partitions?: number;
  /** Messages per produce request (both topics together). Default 2000. */
  readonly batchSize?: number;
}

export interface ProduceSampleResult {
  /** Registry ids used (Avro), else null. */
  readonly ids: SampleSchemaIds | null;
  readonly cdc: number;
  readonly transactions: number;
  readonly elapsedMs: number;
}

/** Registers the sample's input schemas (what Debezium's AvroConverter and the service would register). */
export async function registerSampleSchemas(
  registry: SchemaRegistryClient,
  cdcTopic: string,
  transactionsTopic: string,
): Promise<SampleSchemaIds> {
  const texts = readSampleSchemas();
  const cdcKey = await registry.register(`${cdcTopic}-key`, texts.cdcKey, 'BACKWARD');
  const cdcValue = await registry.register(`${cdcTopic}-value`, texts.cdcValue, 'BACKWARD');
  const transactionValue = await registry.register(
    `${transactionsTopic}-value`,
    texts.transactionValue,
    'BACKWARD',
  );
  return { cdcKey, cdcValue, transactionValue };
}

const YIELD_EVERY = 250;
const MAX_PARTITION_BYTES = 512 * 1024;
/** Record header, length varints and attributes of a Kafka record, roughly. */
const MESSAGE_OVERHEAD = 24;

interface Batch {
  readonly cdc: PlainMessage[];
  readonly transactions: PlainMessage[];
}

/** Both lists merged by send time (CDC first on ties); each list's own order is kept. */
function* interleave(
  cdc: readonly SampleRecord[],
  transactions: readonly SampleRecord[],
): Generator<SampleRecord> {
  let i = 0;
  let j = 0;
  while (i < cdc.length || j < transactions.length) {
    const a = cdc[i];
    const b = transactions[j];
    if (a !== undefined && (b === undefined || a.atMs <= b.atMs)) {
      yield a;
      i++;
    } else if (b !== undefined) {
      yield b;
      j++;
    }
  }
}

export async function produceSample(
  client: KafkaClient,
  registry: SchemaRegistryClient,
  records: Pick<SampleStream, 'cdc' | 'transactions'>,
  opts: ProduceSampleOptions,
): Promise<ProduceSampleResult> {
  const started = performance.now();
  const batchSize = opts.batchSize ?? 2000;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
  const ids =
    opts.format === 'avro'
      ? await registerSampleSchemas(registry, opts.cdcTopic, opts.transactionsTopic)
      : null;
  const partitionOf = (r: SampleRecord): number =>
    opts.partitions === undefined
      ? r.partition
      : kafkaPartition(r.topic === 'cdc' ? String(r.key.id) : r.key, opts.partitions);

  const producer = createPlainProducer(client);
  const send = async (b: Batch) => {
    // CDC first, then transactions: two topics, so their relative order does not matter to Kafka.
    await producer.send(opts.cdcTopic, b.cdc);
    await producer.send(opts.transactionsTopic, b.transactions);
  };
  try {
    let inFlight: Promise<void> = Promise.resolve();
    let batch: Batch = { cdc: [], transactions: [] };
    let size = 0;
    const partitionBytes = new Map<string, number>();
    const flush = async () => {
      await inFlight;
      inFlight = send(batch);
      // Rejections surface at the next `await inFlight`; this only keeps Node from calling them unhandled.
      inFlight.catch(() => undefined);
      batch = { cdc: [], transactions: [] };
      size = 0;
      partitionBytes.clear();
    };
    for (const r of interleave(records.cdc, records.transactions)) {
      const { key, value } = encodeRecord(opts.format, r, ids ?? undefined);
      const partition = partitionOf(r);
      const slot = `${r.topic}/${partition}`;
      const bytes = MESSAGE_OVERHEAD + key.length + (value?.length ?? 0);
      const held = partitionBytes.get(slot) ?? 0;
      // One request carries one record batch per partition, and the broker refuses batches over
      // max.message.bytes (1 MiB by default); JsonConverter records with schemas are ~3 KB each.
      if (size > 0 && held + bytes > MAX_PARTITION_BYTES) await flush();
      (r.topic === 'cdc' ? batch.cdc : batch.transactions).push({ partition, key, value });
      partitionBytes.set(slot, (partitionBytes.get(slot) ?? 0) + bytes);
      size++;
      // Encode the next batch while this one is on the wire (yielding now and then lets its I/O progress);
      // sends stay strictly one after the other, which is what keeps each partition in list order.
      if (size % YIELD_EVERY === 0) await setImmediate();
      if (size >= batchSize) await flush();
    }
    await inFlight;
    if (size > 0) await send(batch);
  } finally {
    await producer.close();
  }
  return {
    ids,
    cdc: records.cdc.length,
    transactions: records.transactions.length,
    elapsedMs: Math.round(performance.now() - started),
  };
}
