/**
 * kafkajs 2.2.4 asks the cluster for a transaction's coordinator (a FindCoordinator request) every time
 * it needs it: when a transaction adds partitions, adds its offsets, and ends, so three of the nine or so
 * requests a window's transaction makes are lookups of a coordinator that has not moved. The Java client
 * keeps the coordinator until a request to it fails. Here a producer's transaction coordinator is kept
 * for COORDINATOR_TTL_MS while its connection is up; a coordinator that moved without the connection
 * dropping (a leadership change of the transaction log) answers NOT_COORDINATOR: the window fails and is
 * retried like any failed window, and a failed window's partition gets a new producer (src/pipeline:
 * retire), whose cluster, and so whose cache, is new. Its InitProducerId bumps the epoch, so the
 * coordinator aborts whatever the failed window had left open; nothing is committed twice.
 * Group coordinators (the consumer's, and the offsets' in a transaction) are looked up as before.
 */

/** kafkajs's coordinator type of a transaction (protocol/coordinatorTypes). */
export const TRANSACTION_COORDINATOR = 1;

/** How long a transaction coordinator found is used without asking again. */
export const COORDINATOR_TTL_MS = 5000;

export interface CoordinatorQuery {
  readonly groupId: string;
  readonly coordinatorType?: number;
}

/** What is kept of a found coordinator: kafkajs's Broker. */
export interface CoordinatorBroker {
  isConnected(): boolean;
}

type Find<B> = (this: object, query: CoordinatorQuery) => Promise<B>;

/**
 * Cluster.prototype.findGroupCoordinator, keeping transaction coordinators per cluster (each producer has
 * its own) and transactional id.
 */
export function cachedTransactionCoordinator<B extends CoordinatorBroker>(
  original: Find<B>,
  now: () => number = Date.now,
): Find<B> {
  const caches = new WeakMap<object, Map<string, { readonly broker: B; readonly until: number }>>();
  return async function findGroupCoordinator(this: object, query: CoordinatorQuery): Promise<B> {
    if (query.coordinatorType !== TRANSACTION_COORDINATOR) return original.call(this, query);
    let cache = caches.get(this);
    if (cache === undefined) {
      cache = new Map();
      caches.set(this, cache);
    }
    const hit = cache.get(query.groupId);
    if (hit !== undefined && hit.until > now() && hit.broker.isConnected()) return hit.broker;
    cache.delete(query.groupId);
    const broker = await original.call(this, query);
    cache.set(query.groupId, { broker, until: now() + COORDINATOR_TTL_MS });
    return broker;
  };
}
