import type { Config } from '../config/index.js';
import { LookupClient } from './client.js';

/** A lookup client on the pipeline's own Redis, key prefix and pipeline name (the CLI, tools, the demo). */
export function lookupClientFor(config: Pick<Config, 'redis' | 'pipeline'>): LookupClient {
  return new LookupClient({
    url: config.redis.url,
    db: config.redis.db,
    keyPrefix: config.redis.keyPrefix,
    pipeline: config.pipeline.name,
    cluster: config.redis.cluster,
    clusterNodes: config.redis.clusterNodes,
    ...(config.redis.username === undefined ? {} : { username: config.redis.username }),
    ...(config.redis.password === undefined ? {} : { password: config.redis.password }),
    ...(config.redis.tls === undefined ? {} : { tls: config.redis.tls }),
  });
}
