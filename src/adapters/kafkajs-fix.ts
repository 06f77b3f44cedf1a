/**
 * Fixes for kafkajs 2.2.4, installed before kafkajs loads (src/adapters/kafka.ts imports this module first).
 *
 * 1. The read_committed filter (filterAbortedMessages).
 * kafkajs walks the fetch response's aborted-transaction list in the order the broker sends it and
 * activates at most one aborted transaction per message. The broker lists aborted transactions by their
 * position in its index, not by first offset, and several can start before the fetched range (e.g. when
 * the new owner of several partitions aborts every producer that died mid-transaction). kafkajs then lets
 * records of an aborted transaction through as if committed — observed here: a prediction of an aborted
 * window visible to a kafkajs read_committed reader, invisible to Kafka's own console consumer. This
 * version sorts by first offset and activates every aborted transaction that has started, like the Java
 * consumer does.
 *
 * 2. The grouping of a send's messages by partition (below): linear instead of quadratic.
 *
 * 3. The producer's send (kafkajs-send.ts): messages of a partition whose leader moved during a send were
 * dropped silently; this one tracks acknowledged partitions, not brokers.
 *
 * 4. The encoder and the decoder of one record (kafkajs-record.ts): the same bytes and the same fetched
 * message objects, without a zero-filled buffer, arrays and Long objects per record.
 *
 * 5. The default partitioner's murmur2 (below): kafkajs hashes every keyed message (one per prediction
 * event) with its BigInt-backed Long class, about ten objects per 4 bytes of key (3.0 % of a drain's
 * allocations); the same value in 32-bit arithmetic (src/util/murmur2.ts).
 *
 * 6. The record batch checksum (CRC-32C) of every produce request: kafkajs's takes one byte per step
 * (1.6 % of a drain's CPU profile); src/util/crc32c.ts takes eight.
 *
 * 7. The produce request and the framing of every request (kafkajs-produce.ts): the same bytes written
 * into one buffer sized first, instead of nested Encoders that copy a window's output about eight times.
 *
 * kafkajs's modules take their dependencies when they load (the consumer's batch takes the abort filter,
 * the producer the send and the grouping, the default partitioner murmur2), so every replacement must be
 * in place before kafkajs itself loads: src/adapters/kafka.ts imports this module first, and it refuses
 * to load once kafkajs's entry point has.
 */
import { createRequire } from 'node:module';
import { fastProduceRequest, fastRequestFrame } from './kafkajs-produce.js';
import type { KafkaEncoder, ProduceRequest, ProduceRequestArgs } from './kafkajs-produce.js';
import { fastRecordDecoder, fastRecordEncoder } from './kafkajs-record.js';
import type { RecordBatchContext, RecordInput } from './kafkajs-record.js';
import { createSendMessages } from './kafkajs-send.js';
import type { SendDeps } from './kafkajs-send.js';
import { crc32c } from '../util/crc32c.js';
import { murmur2 } from '../util/murmur2.js';

interface FetchedMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

interface AbortedTransaction {
  readonly firstOffset: string;
  readonly producerId: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

export function filterAbortedMessages({
  messages,
  abortedTransactions,
}: {
  messages: readonly FetchedMessage[];
  abortedTransactions?: readonly AbortedTransaction[];
}): FetchedMessage[] {
  if (abortedTransactions === undefined || abortedTransactions.length === 0) return [...messages];
  const pending = [...abortedTransactions].sort((a, b) => {
    const d = BigInt(a.firstOffset) - BigInt(b.firstOffset);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  const aborted = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (next < pending.length && offset >= BigInt((pending[next] as AbortedTransaction).firstOffset)) {
      aborted.add(String((pending[next] as AbortedTransaction).producerId));
      next += 1;
    }
    const producerId = String(message.batchContext.producerId);
    if (message.isControlRecord === true) {
      // an abort marker ends that producer's aborted transaction; markers are dropped later by kafkajs
      if (message.key !== null && ABORT_MARKER_KEY.equals(message.key)) aborted.delete(producerId);
      return true;
    }
    return !(aborted.has(producerId) && message.batchContext.inTransaction);
  });
}

/**
 * 2. The producer's grouping of a send's messages by partition (groupMessagesPerPartition). kafkajs copies
 * the partition's array for every message (`[...current, message]`), which is quadratic: a window's 3,000
 * prediction events over 6 partitions allocated about 4.6 KB per input record, the largest single source of
 * garbage in a profile of the pipeline. Same result (an object of partition -> messages, in order), linear.
 */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}): Record<number, M[]> {
  const out: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return out;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (out[partition] ??= []).push(message);
  }
  return out;
}

const require = createRequire(import.meta.url);
function replace(module: string, implementation: unknown): void {
  const path = require.resolve(module);
  require(path);
  const cached = require.cache[path];
  if (cached !== undefined) cached.exports = implementation;
}
// every fix must be in place before kafkajs loads (see above). Not just cached: importing kafka.ts puts
// kafkajs's entry in the cache unevaluated (ESM reads a CommonJS module's export names before it runs)
if (require.cache[require.resolve('kafkajs')]?.loaded === true)
  throw new Error('kafkajs-fix must load before kafkajs (import src/adapters/kafkajs-fix.js first)');
// 5. kafkajs's murmur2 takes a Buffer, or anything else as the UTF-8 bytes of String(key)
replace('kafkajs/src/producer/partitioners/default/murmur2.js', (key: unknown) =>
  murmur2(Buffer.isBuffer(key) ? key : Buffer.from(String(key))),
);
// 6. the record batch's CRC-32C (kafkajs's index.js returns it unsigned, as crc32c does)
replace('kafkajs/src/protocol/recordBatch/crc32C/index.js', crc32c);
replace('kafkajs/src/consumer/filterAbortedMessages.js', filterAbortedMessages);
replace('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition);
const { staleMetadata } = require('kafkajs/src/protocol/error.js') as {
  staleMetadata: SendDeps['staleMetadata'];
};
const { KafkaJSMetadataNotLoaded } = require('kafkajs/src/errors.js') as {
  KafkaJSMetadataNotLoaded: new (message: string) => Error;
};
replace(
  'kafkajs/src/producer/sendMessages.js',
  createSendMessages({
    staleMetadata,
    metadataNotLoaded: (message) => new KafkaJSMetadataNotLoaded(message),
    groupMessagesPerPartition: groupMessagesPerPartition as unknown as SendDeps['groupMessagesPerPartition'],
  }),
);
const RECORD_ENCODER = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
replace(
  RECORD_ENCODER,
  fastRecordEncoder(
    require(RECORD_ENCODER) as (record: RecordInput) => unknown,
    () => Object.create(Encoder.prototype) as { buf: Buffer; offset: number },
  ),
);
// 7. after the record encoder: kafkajs's own request, the fallback, takes the one above
const newEncoder = () => Object.create(Encoder.prototype) as KafkaEncoder;
const PRODUCE_V3 = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): unknown };
replace(
  PRODUCE_V3,
  fastProduceRequest({
    original: require(PRODUCE_V3) as (args: ProduceRequestArgs) => ProduceRequest,
    newEncoder,
    noProducerId: Long.fromInt(-1),
    crc32c,
  }),
);
replace('kafkajs/src/protocol/request.js', fastRequestFrame(newEncoder));
const RECORD_DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
replace(
  RECORD_DECODER,
  fastRecordDecoder(
    require(RECORD_DECODER) as (
      decoder: { buffer: Buffer; offset: number },
      batch: RecordBatchContext,
    ) => unknown,
  ),
);
