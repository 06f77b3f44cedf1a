import { heartbeatWhile } from './backoff.js';

/**
 * How many records all partitions' windows may process at once. A window's working set (decoded records,
 * base and next states, plans, vectors, predictions, the text of its Redis writes and output events) is
 * several times the size of the fetched records, and the windows of every assigned partition run
 * concurrently: without a bound the heap grows with the number of partitions times the window size, which
 * no heap cap can then hold (measured: 50k records in six concurrent windows needed over 190 MB live).
 *
 * A window takes its record count (at most the whole budget, so a window larger than the budget runs
 * alone) before it starts and gives it back when it ends, committed or not. Takers are served in order, so
 * a large window is not starved by small ones.
 */
export class RecordBudget {
  readonly #limit: number;
  #used = 0;
  readonly #waiting: { readonly n: number; readonly grant: () => void }[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`budget must be a positive integer: ${limit}`);
    this.#limit = limit;
  }

  /** Records of running windows now. */
  get used(): number {
    return this.#used;
  }

  /** Takers waiting for their share. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Takes `records` (capped at the limit) once they are free, and resolves with the function that gives
   * them back (calling it again does nothing). While it waits, `whileWaiting` runs every `everyMs` (the
   * consumer's heartbeat: a long wait must not cost the group membership); if it throws, the wait is given
   * up and the error rethrown, and nothing is held.
   */
  async take(records: number, whileWaiting?: () => Promise<void>, everyMs = 1000): Promise<() => void> {
    const n = Math.max(1, Math.min(records, this.#limit));
    if (this.#waiting.length === 0 && this.#used + n <= this.#limit) return this.#granted(n);
    let granted = false;
    let wake = (): void => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const entry = {
      n,
      grant: () => {
        granted = true;
        wake();
      },
    };
    this.#waiting.push(entry);
    try {
      await heartbeatWhile({
        keepWaiting: () => !granted,
        // granted during the step: no heartbeat needed, the loop ends
        heartbeat: async () => {
          if (!granted) await whileWaiting?.();
        },
        stepMs: everyMs,
        wake: woken,
      });
    } catch (err) {
      if (granted)
        this.#give(n); // granted while the heartbeat ran: hand it on
      else {
        this.#waiting.splice(this.#waiting.indexOf(entry), 1);
        this.#serve();
      }
      throw err;
    }
    return this.#release(n);
  }

  #granted(n: number): () => void {
    this.#used += n;
    return this.#release(n);
  }

  #release(n: number): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#give(n);
    };
  }

  #give(n: number): void {
    this.#used -= n;
    this.#serve();
  }

  /** Grants waiting takers in order while the head fits. */
  #serve(): void {
    for (;;) {
      const head = this.#waiting[0];
      if (head === undefined || this.#used + head.n > this.#limit) return;
      this.#waiting.shift();
      this.#used += head.n;
      head.grant();
    }
  }
}
