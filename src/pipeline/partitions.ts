import type { TopicPartition } from '../adapters/kafka-io.js';
import type { PartitionContext } from './types.js';

export const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/** What a new context of a partition carries over from the last one this process had. */
export interface PartitionProgress {
  readonly committedHere: bigint;
  readonly committedMarker: bigint;
}

/**
 * Opens a partition's context: makes (and initialises) a transactional producer. `previous` is what this
 * process had already committed of the partition, if it had it before.
 */
export type PartitionOpener = (
  tp: TopicPartition,
  firstOffset: bigint,
  previous: PartitionProgress | undefined,
) => Promise<PartitionContext>;

interface Fence {
  readonly generation: number;
  /** Successful group heartbeats counted when the fence was seen. */
  readonly beats: number;
}

/**
 * The lifecycle of the partitions this member owns, and of their transactional producers.
 *
 * Without KIP-447 a producer's transactional.id (group, topic, partition) is all that fences a zombie, so a
 * producer is trusted only as long as nothing can have happened to it behind this member's back:
 *  - an assignment (every GROUP_JOIN) retires every context: the member may have been out of the group
 *    meanwhile (frozen past the session timeout, or restarted by kafkajs) and another member may have
 *    fenced the producer, even if the partition comes back to this member. The next batch opens a fresh one.
 *  - a window that failed retires its partition's context: after a failed send or commit the producer's
 *    transaction state is unknown, and a fenced producer stays fenced.
 *  - after a fence no producer is opened for the partition until either a new assignment, or two
 *    successful heartbeats in the same generation (the second was sent after the fence was seen, so the
 *    member was still the partition's owner after it: the fencer was a zombie, and a new producer fences
 *    it back). Opening one earlier could fence the partition's rightful owner.
 * A new producer is opened only after a heartbeat proved the member is in the group (see `context`), and a
 * retired one is closed only once the batch using it is done: batches of a partition run one at a time
 * (`run`).
 */
export class PartitionLifecycle {
  readonly #open: PartitionOpener;
  readonly #contexts = new Map<string, Promise<PartitionContext>>();
  /** Last context of each partition this process had: a new one starts from its progress. */
  readonly #retired = new Map<string, Promise<PartitionContext>>();
  readonly #fences = new Map<string, Fence>();
  /** Per-partition chain of batches (see run). */
  readonly #locks = new Map<string, Promise<void>>();
  #generation = 0;
  #owned = new Set<string>();
  readonly #closing = new Set<Promise<void>>();
  /** Contexts whose producer was closed (each is closed once, whichever path gets there first). */
  readonly #closed = new WeakSet<PartitionContext>();
  readonly #onClose: (err: unknown) => void;

  constructor(open: PartitionOpener, onCloseError: (err: unknown) => void = () => undefined) {
    this.#open = open;
    this.#onClose = onCloseError;
  }

  /** Incremented by every assignment. */
  get generation(): number {
    return this.#generation;
  }

  owns(key: string): boolean {
    return this.#owned.has(key);
  }

  /** The partitions of the current assignment (`topic/partition`). */
  get owned(): ReadonlySet<string> {
    return this.#owned;
  }

  /** A new assignment: every producer is retired, every fence lifted. */
  assign(assigned: readonly TopicPartition[]): void {
    this.#generation += 1;
    this.#owned = new Set(assigned.map(tpKey));
    this.#fences.clear();
    for (const key of [...this.#contexts.keys()]) this.retire(key);
  }

  /**
   * Runs `fn` once every earlier batch of the partition is done. kafkajs re-fetches a partition from its
   * last resolved offset after a rebalance or an error while an earlier batch of it may still be in flight.
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release = () => undefined as void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    this.#locks.set(key, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(key) === chained) this.#locks.delete(key);
    }
  }

  /**
   * The partition's context, opening one (with a new producer) if it has none. A new producer fences
   * whoever else holds the partition's transactional.id, so the member first proves with a heartbeat that
   * it is still in the group: a zombie that just woke up fails here and rejoins instead.
   */
  context(
    tp: TopicPartition,
    firstOffset: bigint,
    heartbeat: () => Promise<void>,
  ): Promise<PartitionContext> {
    const key = tpKey(tp);
    let p = this.#contexts.get(key);
    if (p === undefined) {
      const retired = this.#retired.get(key);
      p = heartbeat()
        .then(() => retired?.catch(() => undefined))
        .then((prev) =>
          this.#open(
            tp,
            firstOffset,
            prev === undefined
              ? undefined
              : { committedHere: prev.committedHere, committedMarker: prev.committedMarker },
          ),
        );
      const opening = p;
      opening.catch(() => {
        if (this.#contexts.get(key) === opening) this.#contexts.delete(key);
      });
      this.#contexts.set(key, opening);
    }
    return p;
  }

  /** Drops the partition's context; its producer is closed once the partition's current batch is done. */
  retire(key: string): void {
    const p = this.#contexts.get(key);
    if (p === undefined) return;
    this.#contexts.delete(key);
    this.#retired.set(key, p);
    const tail = this.#locks.get(key) ?? Promise.resolve();
    const closing = tail
      .then(() => p)
      .then((ctx) => this.#closeProducer(ctx))
      .catch((err: unknown) => this.#onClose(err));
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  /**
   * A window of `generation` found the partition's producer fenced: retire it, and open none until it is
   * safe again (see the class doc). A window of an earlier generation was fenced before the current
   * assignment, which already gave the partition a fresh start.
   */
  fence(key: string, generation: number, beats: number): void {
    this.retire(key);
    if (generation === this.#generation) this.#fences.set(key, { generation, beats });
  }

  /**
   * True while a fence keeps the partition from opening a producer; `beats` is the count of successful
   * heartbeats now. Lifts the fence once two heartbeats succeeded since it in the same generation.
   */
  fenced(key: string, beats: number): boolean {
    const f = this.#fences.get(key);
    if (f === undefined) return false;
    if (f.generation === this.#generation && beats < f.beats + 2) return true;
    this.#fences.delete(key);
    return false;
  }

  /** Resolves once no batch runs (see run). */
  async idle(): Promise<void> {
    await Promise.all([...this.#locks.values()]);
  }

  /**
   * Shutdown when a batch may be stuck (a broker that went away): closes every producer now, without
   * waiting for the batch that uses it. Its open transaction is aborted by the coordinator (on timeout, or
   * when the partition's next owner starts the same transactional id); the batch fails and commits nothing.
   */
  async closeNow(): Promise<void> {
    const all = [...this.#contexts.values(), ...this.#retired.values()];
    for (const key of [...this.#contexts.keys()]) this.retire(key);
    await Promise.all(
      all.map((p) => p.then((ctx) => this.#closeProducer(ctx)).catch((err: unknown) => this.#onClose(err))),
    );
  }

  async #closeProducer(ctx: PartitionContext): Promise<void> {
    if (this.#closed.has(ctx)) return;
    this.#closed.add(ctx);
    await ctx.producer.close();
  }
}
