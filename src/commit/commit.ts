import type { OutputTransaction, TopicPartition, TransactionalProducer } from '../adapters/kafka-io.js';
import type { OutMessage } from '../emit/types.js';

export type CrashPointName = 'before-redis-write' | 'after-redis-write' | 'before-commit';

/** The steps of a window's Kafka transaction, timed one by one (see CommitRequest.phaseTimed). */
export type TransactionPhase = 'begin' | 'send' | 'offsets' | 'commit';

export interface OutputBatch {
  readonly topic: string;
  readonly messages: readonly OutMessage[];
}

export interface CommitRequest {
  /**
   * The window's fenced Redis writes: entity states and predictions, compare-and-set per entity, in one
   * round trip (more only when another writer changed an entity meanwhile). Resolves once Redis
   * acknowledged every write.
   */
  readonly writeRedis: () => Promise<void>;
  /** Builds the window's output records once Redis said which predictions it took. */
  readonly outputs: () => OutputBatch[];
  readonly producer: TransactionalProducer;
  readonly groupId: string;
  readonly input: TopicPartition;
  /** The offset after the window's last record. */
  readonly nextOffset: string;
  /** Records, after the transaction committed, that inputs up to nextOffset - 1 are committed (not awaited). */
  readonly markCommitted: () => void;
  /**
   * Told how long each step of the transaction took, in ms, once it committed (for metrics: a failed
   * window reports nothing, and a callback that throws cannot fail a committed window).
   */
  readonly phaseTimed?: (phase: TransactionPhase, ms: number) => void;
  /** Test-only: a named point at which the test suite may kill the process. */
  readonly crashPoint?: (name: CrashPointName) => void;
}

/**
 * The commit protocol of one window, top to bottom. The order is the guarantee:
 *
 *  1. Redis first. Fenced writes of the window's entity states and predictions; wait for the
 *     acknowledgement. A prediction that a newer version already superseded is not written and emits
 *     nothing.
 *  2. Then one Kafka transaction holding everything the window emits — prediction events, dead letters,
 *     its audit event — and the input offsets (sendOffsets). Commit it. A read_committed reader sees all of
 *     it or none of it, and the offsets move only with it.
 *  3. Then the committed high-water mark, in memory and in Redis (sent, not awaited: the next write on the
 *     same connection queues behind it). It lets a replay from earlier offsets tell a retry of an
 *     uncommitted window from a window that was committed; the broker is asked before anything is
 *     re-emitted, so a marker lost in a crash costs a query, not a duplicate.
 *
 * A crash between 1 and 2 leaves Redis ahead of Kafka: the window is fetched again, its records change no
 * state, and the stored predictions are re-emitted (see process-window). Any failure in 2 aborts the
 * transaction and rethrows: the offsets stay, the window is fetched again.
 */
export async function commitWindow(req: CommitRequest): Promise<void> {
  req.crashPoint?.('before-redis-write');
  await req.writeRedis();
  req.crashPoint?.('after-redis-write');

  const outputs = req.outputs();
  let tx: OutputTransaction | undefined;
  const steps: number[] = [performance.now()];
  try {
    tx = await req.producer.begin();
    steps.push(performance.now());
    await tx.sendAll(outputs);
    steps.push(performance.now());
    await tx.sendOffsets(req.groupId, req.input, req.nextOffset);
    steps.push(performance.now());
    req.crashPoint?.('before-commit');
    await tx.commit();
    steps.push(performance.now());
  } catch (err) {
    await tx?.abort();
    throw err;
  }
  reportPhases(req.phaseTimed, steps);
  req.markCommitted();
}

const PHASES: readonly TransactionPhase[] = ['begin', 'send', 'offsets', 'commit'];

function reportPhases(timed: CommitRequest['phaseTimed'], steps: readonly number[]): void {
  if (timed === undefined) return;
  try {
    PHASES.forEach((phase, i) => timed(phase, (steps[i + 1] as number) - (steps[i] as number)));
  } catch {
    // metrics only: the window is committed whatever happens here
  }
}
