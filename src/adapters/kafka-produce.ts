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
   * their order too (idempotence keeps the client's own retries from duplicating or reordering them).
   * Across a broker outage longer than the client's own retries (a restart), the send is made again for
   * up to two minutes: at least once then, so records of the failed request may land twice (streamscore
   * applies an event once per id and a CDC change once per position).
   */
  send(topic: string, messages: readonly PlainMessage[]): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** How long a plain producer keeps trying to reach the cluster, or to send, before it gives up. */
const PATIENCE_MS = 120_000;

/**
 * Runs `attempt` again while it fails on a retriable error (a broker restarting refuses connections for
 * longer than the client's own retries last), for up to PATIENCE_MS. Refusals that cannot pass by
 * themselves (authentication, authorisation, a record the broker rejects) fail at once.
 */
async function patiently(what: string, attempt: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
    try {
      await attempt();
      return;
    } catch (cause) {
      const err = kafkaError(cause, what);
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
      connecting ??= patiently('connecting the producer', () => producer.connect()).catch(
        (cause: unknown) => {
          connecting = undefined;
          throw cause;
        },
      );
      await connecting;
      const batch: Message[] = messages.map((m) => {
        const message: Message = { partition: m.partition, key: m.key, value: m.value };
        if (m.headers !== undefined) message.headers = { ...m.headers };
        return message;
      });
      await patiently(`sending ${messages.length} messages to ${topic}`, () =>
        producer.send({ topic, acks: -1, messages: batch }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      if (connecting !== undefined) await producer.disconnect();
    },
  };
}
