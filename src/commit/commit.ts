import type { OutputTransaction, TopicPartition, TransactionalProducer } from '../adapters/kafka-io.js';
import type { OutMessage } from '../emit/types.js';
import type { Logger } from '../observe/logger.js';
import type { ModelStamp, PredictionRecord, RedisSink } from '../sink/index.js';

export type CrashPointName = 'before-redis-write' | 'after-redis-write' | 'before-commit';

export interface OutputBatch {
  readonly topic: string;
  readonly messages: readonly OutMessage[];
}

export interface CommitRequest {
  readonly sink: RedisSink;
  readonly predictions: readonly PredictionRecord[];
  readonly model: ModelStamp;
  /** Builds the window's output records once Redis said which predictions it took. */
  readonly outputs: (written: readonly boolean[]) => OutputBatch[];
  readonly producer: TransactionalProducer;
  readonly groupId: string;
  readonly input: TopicPartition;
  /** The offset after the window's last record. */
  readonly nextOffset: string;
  /** Records, after the transaction committed, that inputs up to nextOffset - 1 are committed. */
  readonly markCommitted: () => Promise<void>;
  readonly logger: Logger;
  /** Test-only: a named point at which the test suite may kill the process. */
  readonly crashPoint?: (name: CrashPointName) => void;
}

/**
 * The commit protocol of one window, top to bottom. The order is the guarantee:
 *
 *  1. Redis first. Fenced writes of the window's predictions; wait for the acknowledgement. A write that
 *     a newer version already superseded is a no-op and emits nothing.
 *  2. Then one Kafka transaction holding everything the window emits — prediction events, dead letters,
 *     its audit event — and the input offsets (sendOffsets). Commit it. A read_committed reader sees all of
 *     it or none of it, and the offsets move only with it.
 *  3. Then, best effort, the committed high-water mark in Redis (lets a replay from earlier offsets tell a
 *     retry of an uncommitted window from a window that was committed).
 *
 * A crash between 1 and 2 leaves Redis ahead of Kafka: the window is fetched again, the fenced writes are
 * no-ops, and the stored predictions are re-emitted (see process-window). Any failure in 2 aborts the
 * transaction and rethrows: the offsets stay, the window is fetched again.
 */
export async function commitWindow(
  req: CommitRequest,
): Promise<{ written: readonly boolean[]; emitted: number }> {
  req.crashPoint?.('before-redis-write');
  const written = await req.sink.write(req.predictions, req.model);
  req.crashPoint?.('after-redis-write');

  const outputs = req.outputs(written);
  let tx: OutputTransaction | undefined;
  try {
    tx = await req.producer.begin();
    for (const out of outputs) await tx.send(out.topic, out.messages);
    await tx.sendOffsets(req.groupId, req.input, req.nextOffset);
    req.crashPoint?.('before-commit');
    await tx.commit();
  } catch (err) {
    await tx?.abort();
    throw err;
  }

  try {
    await req.markCommitted();
  } catch (err) {
    req.logger.warn(
      { err },
      'could not record the committed offset in Redis; it is recorded again at the next assignment',
    );
  }
  return { written, emitted: outputs.reduce((n, o) => n + o.messages.length, 0) };
}
