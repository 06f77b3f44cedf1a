/**
 * kafkajs 2.2.4's produce request (protocol/requests/produce/v3, which v4–v7 reuse) and request framing
 * (protocol/request.js), written again to produce the same bytes with one buffer instead of a dozen
 * (installed by kafkajs-fix.ts).
 *
 * kafkajs builds a produce request from nested Encoders: a Buffer per record, copied into the batch body
 * (which grows by doubling, zero-filled, copying what it holds), the body into the batch, the batch into
 * the partition, the partition into the topic, the topic into the request, the request into its frame and
 * the frame once more: every byte of a window's output copied about eight times, and a Buffer object per
 * record. In a CPU profile of a 300k drain (2026-12-04) the request's encoding was 7.6 % of the process's
 * samples, two thirds of it allocating and copying buffers. Here the request is sized first and written into
 * one buffer of that size, the records straight into their batch; the frame adds one copy.
 *
 * Requests this module does not encode the same way for sure (compression, a partition without messages, a
 * message that is not a plain object, a record kafkajs-record.ts leaves to kafkajs) are encoded by kafkajs's
 * own request, whole. Unit tests compare the bytes with kafkajs's on random requests.
 */
import { recordBodySize, recordSize, writeRecord } from './kafkajs-record.js';
import type { RecordInput } from './kafkajs-record.js';

/** kafkajs's Encoder as used here: its own methods write the fixed fields (int64 from a Long, a string). */
export interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
  writeInt8(v: number): KafkaEncoder;
  writeInt16(v: number): KafkaEncoder;
  writeInt32(v: number): KafkaEncoder;
  writeUInt32(v: number): KafkaEncoder;
  writeInt64(v: unknown): KafkaEncoder;
  writeString(v: string | null | undefined): KafkaEncoder;
}

/** A message of a produce request (kafkajs's Message after the producer's partitioning). */
export interface ProduceMessage extends Pick<RecordInput, 'key' | 'value' | 'headers'> {
  readonly timestamp?: number | string | null;
}

export interface ProduceRequestArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly transactionalId?: string | null;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly compression?: number;
  readonly topicData: ReadonlyArray<{
    readonly topic: string;
    readonly partitions: ReadonlyArray<{
      readonly partition: number;
      readonly firstSequence?: number;
      readonly messages: readonly ProduceMessage[];
    }>;
  }>;
}

export interface ProduceRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly apiName: string;
  expectResponse(): boolean;
  encode(): Promise<KafkaEncoder>;
}

export interface ProduceDeps {
  /** kafkajs's own v3 request, for what this module leaves to it. */
  readonly original: (args: ProduceRequestArgs) => ProduceRequest;
  /** An empty kafkajs Encoder (no buffer yet). */
  readonly newEncoder: () => KafkaEncoder;
  /** kafkajs's `Long.fromInt(-1)`: the producer id of a request without one. */
  readonly noProducerId: unknown;
  readonly crc32c: (bytes: Buffer) => number;
}

const COMPRESSION_NONE = 0;
const MAGIC_BYTE = 2;
const TRANSACTIONAL = 16;
/** attributes … firstSequence of a batch, and its record count. */
const BATCH_BODY_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** firstOffset, length, partitionLeaderEpoch, magic, crc. */
const BATCH_HEAD = 8 + 4 + 4 + 1 + 4;

const stringSize = (s: string | null | undefined): number =>
  2 + (s == null ? 0 : Buffer.byteLength(s, 'utf8'));

const isPlain = (m: unknown): boolean =>
  typeof m === 'object' && m !== null && Object.getPrototypeOf(m) === Object.prototype;

/** One partition's batch as planned: its timestamps as kafkajs takes them, its records' body sizes. */
interface PlannedBatch {
  readonly firstTimestamp: number | string;
  readonly maxTimestamp: number | string;
  readonly deltas: number[];
  readonly bodies: number[];
  readonly bytes: number;
}

/**
 * The batch's timestamps as kafkajs's v3 request computes them (its sort is by text, as kafkajs's is),
 * each record's body size, and the batch's bytes from firstOffset on; null when kafkajs must encode it.
 */
function planBatch(messages: readonly ProduceMessage[], now: number): PlannedBatch | null {
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const given = messages
    .map((m) => m.timestamp)
    .filter((t): t is number | string => t != null)
    .sort();
  const timestamps = given.length === 0 ? [now] : given;
  const firstTimestamp = timestamps[0] as number | string;
  const maxTimestamp = timestamps[timestamps.length - 1] as number | string;
  const deltas = new Array<number>(messages.length);
  const bodies = new Array<number>(messages.length);
  let bytes = BATCH_HEAD + BATCH_BODY_HEAD;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as ProduceMessage;
    // kafkajs encodes a copy (`{...message}`: own enumerable fields only); a message of another kind (a
    // class with getters, a hole) is left to it
    if (!isPlain(m)) return null;
    const delta = ((m.timestamp || now) as number) - (firstTimestamp as number);
    const body = recordBodySize(m, i, delta);
    if (body < 0) return null;
    deltas[i] = delta;
    bodies[i] = body;
    bytes += recordSize(body);
  }
  return { firstTimestamp, maxTimestamp, deltas, bodies, bytes };
}

/** The v3 produce request to install in place of kafkajs's (same arguments, defaults and bytes). */
export function fastProduceRequest(deps: ProduceDeps): (args: ProduceRequestArgs) => ProduceRequest {
  return (args) => {
    const {
      acks,
      timeout,
      transactionalId = null,
      producerId = deps.noProducerId,
      producerEpoch = 0,
      compression = COMPRESSION_NONE,
      topicData,
    } = args;
    return {
      apiKey: 0,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => acks !== 0,
      encode: async () => {
        const encoded = compression === COMPRESSION_NONE ? encodeProduce() : null;
        return encoded ?? deps.original(args).encode();
      },
    };

    function encodeProduce(): KafkaEncoder | null {
      const now = Date.now();
      const plans: PlannedBatch[] = [];
      let total = stringSize(transactionalId) + 2 + 4 + 4;
      // counted by length below, as kafkajs counts what it iterates: arrays only
      if (!Array.isArray(topicData)) return null;
      for (const t of topicData) {
        if (!Array.isArray(t.partitions)) return null;
        total += stringSize(t.topic) + 4;
        for (const p of t.partitions) {
          const plan = planBatch(p.messages, now);
          if (plan === null) return null;
          plans.push(plan);
          total += 4 + 4 + plan.bytes;
        }
      }
      const e = deps.newEncoder();
      e.buf = Buffer.allocUnsafe(total);
      e.offset = 0;
      e.writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeInt32(topicData.length);
      let next = 0;
      for (const t of topicData) {
        e.writeString(t.topic).writeInt32(t.partitions.length);
        for (const p of t.partitions) {
          const plan = plans[next++] as PlannedBatch;
          e.writeInt32(p.partition).writeInt32(plan.bytes);
          // the batch: firstOffset, then its length and the rest
          e.writeInt64(0)
            .writeInt32(plan.bytes - 12)
            .writeInt32(0)
            .writeInt8(MAGIC_BYTE);
          const crcAt = e.offset;
          e.offset += 4;
          const bodyAt = e.offset;
          e.writeInt16(transactionalId ? TRANSACTIONAL : 0)
            .writeInt32(p.messages.length - 1)
            .writeInt64(plan.firstTimestamp)
            .writeInt64(plan.maxTimestamp)
            .writeInt64(producerId)
            .writeInt16(producerEpoch)
            .writeInt32(p.firstSequence ?? 0)
            .writeInt32(p.messages.length);
          let at = e.offset;
          for (let i = 0; i < p.messages.length; i++)
            at = writeRecord(
              e.buf,
              at,
              p.messages[i] as ProduceMessage,
              i,
              plan.deltas[i] as number,
              plan.bodies[i] as number,
            );
          e.offset = at;
          e.buf.writeUInt32BE(deps.crc32c(e.buf.subarray(bodyAt, at)), crcAt);
        }
      }
      // the buffer is not zero-filled: a size computed wrong must never reach the broker (kafkajs encodes it)
      return e.offset === total ? e : null;
    }
  };
}

/** A request as kafkajs's connection frames it. */
export interface FramedRequest {
  readonly correlationId: number;
  readonly clientId: string | null | undefined;
  readonly request: { readonly apiKey: number; readonly apiVersion: number; encode(): Promise<unknown> };
}

/**
 * kafkajs's request framing (size, api key and version, correlation id, client id, payload) in one buffer
 * of its size: kafkajs copies the payload twice, through two growing Encoders.
 */
export function fastRequestFrame(
  newEncoder: () => KafkaEncoder,
): (r: FramedRequest) => Promise<KafkaEncoder> {
  return async ({ correlationId, clientId, request: { apiKey, apiVersion, encode } }) => {
    const payload = (await encode()) as KafkaEncoder | null | undefined;
    // what kafkajs's writeEncoder refuses
    if (payload == null || !Buffer.isBuffer(payload.buf))
      throw new Error('value should be an instance of Encoder');
    const size = 2 + 2 + 4 + stringSize(clientId) + payload.offset;
    const e = newEncoder();
    e.buf = Buffer.allocUnsafe(4 + size);
    e.offset = 0;
    e.writeInt32(size)
      .writeInt16(apiKey)
      .writeInt16(apiVersion)
      .writeInt32(correlationId)
      .writeString(clientId);
    payload.buf.copy(e.buf, e.offset, 0, payload.offset);
    e.offset += payload.offset;
    return e;
  };
}
