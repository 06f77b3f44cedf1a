/**
 * Is each owned partition moving? Two views, either one enough to call a partition stalled:
 *  - in process: it has fetched records in hand that are not committed, and no window of it committed for
 *    `stallAfterMs` (a window stuck on Redis or Kafka, or failing and being retried);
 *  - from the broker (sampled on a timer): its position — the committed offset, or how far the consumer
 *    has read when that is further (a tail of aborted records or transaction markers is read but never
 *    committed past) — has not moved for `stallAfterMs` while the log end stayed more than one offset
 *    ahead (one offset may be a marker, never a record to read). This catches a consumer that stopped
 *    fetching.
 * Pure: the pipeline feeds it events and samples with their times.
 */
export interface BrokerSample {
  readonly committed: bigint;
  readonly end: bigint;
  /** The offset after the last record or marker the consumer read, when known. */
  readonly fetched?: bigint;
}

export class ProgressWatch {
  /** Partitions with records in hand: since when they have been waiting for a commit. */
  readonly #waiting = new Map<string, number>();
  /** Per partition, the last committed offset the broker reported and since when it has been behind. */
  readonly #broker = new Map<string, { position: bigint; behindSince: number | null }>();

  constructor(private readonly stallAfterMs: number) {}

  /** Records of `key` were fetched and are not committed yet. */
  working(key: string, now: number): void {
    if (!this.#waiting.has(key)) this.#waiting.set(key, now);
  }

  /** A window of `key` committed: the wait starts again (more records may be in hand). */
  committed(key: string, now: number): void {
    if (this.#waiting.has(key)) this.#waiting.set(key, now);
  }

  /** Every record of `key` in hand is committed (or was handed back to be fetched again later). */
  idle(key: string): void {
    this.#waiting.delete(key);
  }

  /** What the broker says about `key`. */
  sample(key: string, s: BrokerSample, now: number): void {
    const prev = this.#broker.get(key);
    const position = s.fetched !== undefined && s.fetched > s.committed ? s.fetched : s.committed;
    const behind = s.end - position > 1n;
    if (!behind) this.#broker.set(key, { position, behindSince: null });
    else if (prev === undefined || prev.position !== position || prev.behindSince === null)
      this.#broker.set(key, { position, behindSince: now });
  }

  /** Only the partitions this member owns are watched. */
  retain(owned: ReadonlySet<string>): void {
    for (const m of [this.#waiting, this.#broker]) for (const k of m.keys()) if (!owned.has(k)) m.delete(k);
  }

  /** The stalled partitions and for how long (ms), longest first. */
  stalled(now: number): Array<{ key: string; forMs: number }> {
    const worst = new Map<string, number>();
    for (const [k, since] of this.#waiting) worst.set(k, now - since);
    for (const [k, b] of this.#broker)
      if (b.behindSince !== null) worst.set(k, Math.max(worst.get(k) ?? 0, now - b.behindSince));
    return [...worst]
      .filter(([, ms]) => ms >= this.stallAfterMs)
      .map(([key, forMs]) => ({ key, forMs }))
      .sort((a, b) => b.forMs - a.forMs);
  }
}
