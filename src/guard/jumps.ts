/**
 * Inter-batch consistency: how far an entity's published score moved from its previous one. The previous
 * scores are remembered in process for the most recently scored `capacity` entities (insertion order is
 * recency: a score seen again moves to the end), so an entity first scored by this instance — after a
 * start or a rebalance — has nothing to be compared with. Counted, not refused: a real customer's score can
 * move a lot; many jumps at once point at a model or feature problem.
 */
export class ScoreJumps {
  readonly #last = new Map<string, number>();
  readonly #threshold: number;
  readonly #capacity: number;

  constructor(threshold: number, capacity: number) {
    this.#threshold = threshold;
    this.#capacity = capacity;
  }

  /** Records a published score; true when it moved more than the threshold from the previous one. */
  record(entityId: string, score: number): boolean {
    const before = this.#last.get(entityId);
    if (before !== undefined) this.#last.delete(entityId);
    else if (this.#last.size >= this.#capacity) {
      const oldest = this.#last.keys().next();
      if (oldest.done !== true) this.#last.delete(oldest.value);
    }
    this.#last.set(entityId, score);
    return before !== undefined && Math.abs(score - before) > this.#threshold;
  }
}
