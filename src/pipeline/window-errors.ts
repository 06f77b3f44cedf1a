/**
 * What a failed window means for its partition, decided from the error alone (pure, unit-tested); the
 * pipeline carries the verdict out (src/pipeline/batches.ts, #onWindowError):
 *  - `redis-lost`: the epoch fence refused the write; nothing was written or committed, Redis is rebuilt
 *    and the window fetched again;
 *  - `fenced`: a newer owner of the partition fenced this one; the window is abandoned;
 *  - `hold`: the data-quality gate (DLQ flood) or the output guard (guard.policy=halt) refused the window
 *    before anything was written; nothing is committed until an operator resumes;
 *  - `halt`: not retried — a programming error, a non-retriable error, or the schema registry failing for
 *    longer than registry.maxOutageMs (then `error` says so);
 *  - `rejoin`: the consumer's own trouble (a failed heartbeat, a lost membership): kafkajs rejoins the group;
 *  - `retry`: anything else transient: the window is fetched again from the committed offset after a
 *    backoff.
 * Past `hold`, the partition's producer is not used again (a failed send leaves its transaction unknown).
 */
import { classifyKafkaError } from '../adapters/kafka-errors.js';
import { StreamscoreError, isProgrammingError } from '../errors/index.js';

export type WindowErrorVerdict =
  | { readonly kind: 'redis-lost' | 'fenced' | 'hold' | 'rejoin' | 'retry' }
  | { readonly kind: 'halt'; readonly error: Error };

/** A registry problem that is not about a record (unreachable, 401/403/429, 5xx, not a schema): retried. */
export function isRegistryOutage(err: unknown): boolean {
  return (
    err instanceof StreamscoreError &&
    err.retriable &&
    (err.code === 'SS_REGISTRY' || err.details?.service === 'registry')
  );
}

/**
 * `registryDownForMs`: asked only for a registry outage (past the first three kinds): how long windows
 * have failed on the registry, including this one (the caller counts the outage when asked).
 */
export function judgeWindowError(
  err: unknown,
  registryDownForMs: () => number,
  maxOutageMs: number,
): WindowErrorVerdict {
  if (err instanceof StreamscoreError) {
    if (err.code === 'SS_REDIS_LOST') return { kind: 'redis-lost' };
    if (err.code === 'SS_FENCED') return { kind: 'fenced' };
    if (err.code === 'SS_DLQ_FLOOD' || err.code === 'SS_GUARD_FAILED') return { kind: 'hold' };
  }
  if (isRegistryOutage(err)) {
    const forMs = registryDownForMs();
    if (forMs >= maxOutageMs)
      return {
        kind: 'halt',
        error: new StreamscoreError(
          'SS_REGISTRY',
          `windows have failed on the schema registry for ${Math.round(forMs / 1000)} s (registry.maxOutageMs): ${(err as Error).message}`,
          { cause: err },
        ),
      };
  }
  if (isProgrammingError(err) || (err instanceof StreamscoreError && !err.retriable))
    return { kind: 'halt', error: err as Error };
  if (!(err instanceof StreamscoreError) || classifyKafkaError(err) === 'rebalance')
    return { kind: 'rejoin' };
  return { kind: 'retry' };
}
