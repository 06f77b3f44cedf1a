/**
 * Backoff of a partition whose window failed on something transient (Redis, the registry, a producer
 * error). The pipeline waits here itself instead of handing the error to kafkajs: kafkajs's fetch-loop
 * retrier counts failures over the consumer's whole life (it is never reset by a batch that succeeds), so
 * a handful of Redis blips spread over hours ends in a crashed consumer and a group rebalance, a stall of
 * a minute or more for every member. Here the count is per partition and a committed window resets it.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0.2 spreads each wait over ±20 %, so partitions and instances do not retry in step. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5000, jitter: 0.2 };

/** The wait before attempt `failures` (1 = after the first failure): doubling from initialMs, capped. */
export function backoffDelay(
  failures: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 - opts.jitter + 2 * opts.jitter * random()));
}

export class PartitionBackoff {
  readonly #failures = new Map<string, number>();
  readonly #opts: BackoffOptions;

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.#opts = opts;
  }

  /** Counts a failure of the partition and says how long to wait before its records are fetched again. */
  failed(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(failures, this.#opts);
  }

  succeeded(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * Waits `ms` in short steps, heartbeating the group (a rebalance surfaces as the heartbeat's error, which
 * the caller hands to kafkajs) and ending early once `keepWaiting` says no (stopping, partition revoked).
 */
export function waitOut(
  ms: number,
  keepWaiting: () => boolean,
  heartbeat: () => Promise<void>,
  stepMs = 250,
): Promise<void> {
  return heartbeatWhile({ keepWaiting, heartbeat, stepMs, deadline: Date.now() + ms });
}

/**
 * The one wait of a consumer's batch: while `keepWaiting()` holds (and, with a `deadline`, until then),
 * it sleeps in steps of at most `stepMs` and heartbeats the group after each, so a long wait does not cost
 * the membership. When `wake` resolves, the step under way ends at once (later steps sleep in full). A
 * heartbeat's error ends the wait and is thrown.
 */
export async function heartbeatWhile(opts: {
  readonly keepWaiting: () => boolean;
  readonly heartbeat: () => Promise<void>;
  readonly stepMs: number;
  readonly deadline?: number;
  readonly wake?: Promise<void>;
}): Promise<void> {
  const { keepWaiting, heartbeat, stepMs, deadline = Infinity, wake } = opts;
  let endStep: (() => void) | undefined;
  void wake?.then(() => endStep?.());
  while (keepWaiting()) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(stepMs, left));
      endStep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    endStep = undefined;
    await heartbeat();
  }
}
