/**
 * A fix for kafkajs 2.2.4's read_committed filter, installed before kafkajs loads (src/adapters/kafka.ts
 * imports this module first).
 *
 * kafkajs walks the fetch response's aborted-transaction list in the order the broker sends it and
 * activates at most one aborted transaction per message. The broker lists aborted transactions by their
 * position in its index, not by first offset, and several can start before the fetched range (e.g. when
 * the new owner of several partitions aborts every producer that died mid-transaction). kafkajs then lets
 * records of an aborted transaction through as if committed — observed here: a prediction of an aborted
 * window visible to a kafkajs read_committed reader, invisible to Kafka's own console consumer. This
 * version sorts by first offset and activates every aborted transaction that has started, like the Java
 * consumer does.
 */
import { createRequire } from 'node:module';

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

const require = createRequire(import.meta.url);
const modulePath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
require(modulePath);
const cached = require.cache[modulePath];
if (cached !== undefined) cached.exports = filterAbortedMessages;
