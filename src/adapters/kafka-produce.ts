/**
 * A plain (non-transactional) idempotent producer that writes to explicit partitions, for tools that play the
 * part of an upstream producer (the sample domain, the benchmark). The pipeline's own output goes through the
 * transactional producers in kafka-io.ts.
 */
import type { Message, Producer } from 'kafkajs';
import { kafkaError } from './kafka-errors.js';
import type { KafkaClient } from './kafka.js';

export interface PlainMessage {
  readonly partition: number;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string>>;
}

export interface PlainProducer {
  /**
   * Appends `messages` to `topic`, each to its own partition, and resolves once all are acknowledged by every
   * in-sync replica. Within a partition they land in array order; sends awaited one after the other keep
   * their order too (idempotence keeps retries from duplicating or reordering them).
   */
  send(topic: string, messages: readonly PlainMessage[]): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** How long a plain producer keeps trying to reach the cluster before its first send fails. */
const CONNECT_PATIENCE_MS = 120_000;

/**
 * Connects, trying again while the failure is retriable (a broker restarting refuses connections for a few
 * seconds, longer than the client's own connect retries last): connecting sends nothing, so trying again is
 * safe, and a tool's sends then wait through a broker restart like its in-flight sends do. Refusals that
 * cannot pass by themselves (authentication, authorisation) fail at once.
 */
async function connectPatiently(producer: Producer): Promise<void> {
  const deadline = Date.now() + CONNECT_PATIENCE_MS;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
    try {
      await producer.connect();
      return;
    } catch (cause) {
      const err = kafkaError(cause, 'connecting the producer');
      if (!err.retriable || Date.now() + pause > deadline) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

export function createPlainProducer(client: KafkaClient): PlainProducer {
  const producer: Producer = client.producer({
    idempotent: true,
    // One request in flight per broker: kafkajs does not guarantee order across concurrent in-flight batches.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 },
  });
  let connecting: Promise<void> | undefined;
  let closed = false;
  return {
    async send(topic, messages) {
      if (closed) throw new Error('send() after close()');
      if (messages.length === 0) return;
      connecting ??= connectPatiently(producer).catch((cause: unknown) => {
        connecting = undefined;
        throw cause;
      });
      await connecting;
      const batch: Message[] = messages.map((m) => {
        const message: Message = { partition: m.partition, key: m.key, value: m.value };
        if (m.headers !== undefined) message.headers = { ...m.headers };
        return message;
      });
      try {
        await producer.send({ topic, acks: -1, messages: batch });
      } catch (cause) {
        throw kafkaError(cause, `sending ${messages.length} messages to ${topic}`);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (connecting !== undefined) await producer.disconnect();
    },
  };
}
