import { createRedisStore } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import type { Explanation } from '../explain/index.js';
import type { RedisStore } from '../adapters/redis.js';
import { entityKeys } from '../sink/keys.js';
import { parseStoredPrediction } from '../sink/prediction.js';

/** A prediction as a real-time app sees it. */
export interface Prediction {
  readonly entityId: string;
  readonly score: number;
  readonly tier: string;
  readonly model: {
    readonly name: string;
    readonly version: string;
    readonly sha256: string;
    readonly trainingRunId: string;
  };
  readonly featureVersion: string;
  readonly features: readonly number[];
  readonly asOf: Date;
  readonly scoredAt: Date;
  readonly validUntil: Date | null;
  readonly version: number;
  readonly batchId: string;
  /** Reason codes: the top features by contribution (docs/consumers.md); null when off or stored before. */
  readonly reasons: Explanation | null;
  /** now > validUntil: the score is older than the pipeline's freshness limit; decide before using it. */
  readonly stale: boolean;
}

export interface LookupOptions {
  /** redis://host:port (default redis://127.0.0.1:6379). */
  readonly url?: string;
  /** ACL user and password (a read-only user is enough: docs/security.md). */
  readonly username?: string;
  readonly password?: string;
  /** TLS files, for a rediss:// URL (config redis.tls). */
  readonly tls?: Config['redis']['tls'];
  readonly db?: number;
  /** A Redis Cluster: `url` is one of its nodes, `clusterNodes` more to start from (config redis.cluster). */
  readonly cluster?: boolean;
  readonly clusterNodes?: readonly string[];
  /** Key prefix of the pipeline (config redis.keyPrefix, default "ss:"). */
  readonly keyPrefix?: string;
  /** Pipeline name (config pipeline.name, default "churn"). */
  readonly pipeline?: string;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** Parses a prediction hash (fields version, deleted, json); null when absent or deleted. */
export function parsePrediction(hash: Readonly<Record<string, string>>, nowMs: number): Prediction | null {
  if (hash.deleted === '1') return null;
  const p = parseStoredPrediction(hash.json);
  if (p === null || p.deleted || p.score === null) return null;
  return {
    entityId: p.entity_id,
    score: p.score,
    tier: p.tier ?? '',
    model: {
      name: p.model_name,
      version: p.model_version,
      sha256: p.model_sha256,
      trainingRunId: p.training_run_id,
    },
    featureVersion: p.feature_version,
    features: p.features,
    asOf: new Date(p.as_of),
    scoredAt: new Date(p.scored_at),
    validUntil: p.valid_until === null ? null : new Date(p.valid_until),
    version: p.version,
    batchId: p.batch_id,
    reasons: p.reasons ?? null,
    stale: p.valid_until !== null && nowMs > p.valid_until,
  };
}

/**
 * Reads predictions by entity id. One HGETALL per lookup; any Redis client in any language can do the
 * same (see docs/redis.md for the key layout).
 */
export class LookupClient {
  readonly #store: RedisStore;
  readonly #prefix: string;
  readonly #pipeline: string;
  readonly #now: () => number;

  constructor(opts: LookupOptions = {}) {
    this.#store = createRedisStore(
      {
        url: opts.url ?? 'redis://127.0.0.1:6379',
        db: opts.db ?? 0,
        keyPrefix: opts.keyPrefix ?? 'ss:',
        cluster: opts.cluster ?? false,
        clusterNodes: [...(opts.clusterNodes ?? [])],
        ...(opts.username === undefined ? {} : { username: opts.username }),
        ...(opts.password === undefined ? {} : { password: opts.password }),
        ...(opts.tls === undefined ? {} : { tls: opts.tls }),
      },
      'streamscore-lookup',
    );
    this.#prefix = opts.keyPrefix ?? 'ss:';
    this.#pipeline = opts.pipeline ?? 'churn';
    this.#now = opts.now ?? Date.now;
  }

  async get(entityId: string): Promise<Prediction | null> {
    const hash = await this.#store.hgetall(entityKeys(this.#prefix, this.#pipeline, entityId).prediction);
    return parsePrediction(hash, this.#now());
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
