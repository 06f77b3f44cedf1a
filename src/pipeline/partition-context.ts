import { createTransactionalProducer } from '../adapters/kafka-io.js';
import type { InputConsumer, TopicPartition } from '../adapters/kafka-io.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { RedisStore } from '../adapters/redis.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../observe/logger.js';
import { committedKey } from '../sink/index.js';
import type { RedisSink } from '../sink/index.js';
import { tpKey } from './partitions.js';
import type { PartitionProgress } from './partitions.js';
import type { PartitionContext } from './types.js';

export interface PartitionDeps {
  readonly config: Readonly<Config>;
  readonly kafka: KafkaClient;
  readonly redis: RedisStore;
  readonly sink: RedisSink;
  /** Output topic -> most bytes per produce call. */
  readonly sendLimits: ReadonlyMap<string, number>;
  readonly consumer: InputConsumer;
  readonly logger: Logger;
}

/**
 * What the windows of a newly assigned partition share: a fresh transactional producer and the committed
 * offset marker. The first fetch after an assignment starts at the group's committed offset, after a failed
 * window at the last resolved (committed) one: everything before it is committed. The marker keeps the
 * largest of that, what Redis already knew (a replay from earlier offsets) and what this process knew.
 */
export async function openPartitionContext(
  deps: PartitionDeps,
  tp: TopicPartition,
  firstOffset: bigint,
  previous: PartitionProgress | undefined,
): Promise<PartitionContext> {
  const { config, sink } = deps;
  const producer = await createTransactionalProducer(
    deps.kafka,
    config.consumer.groupId,
    tp,
    deps.sendLimits,
  );
  const key = committedKey(config.redis.keyPrefix, config.pipeline.name, tp.topic, tp.partition);
  const stored = BigInt((await deps.redis.get(key)) ?? '-1');
  let marker = stored > firstOffset - 1n ? stored : firstOffset - 1n;
  if (previous !== undefined && previous.committedMarker > marker) marker = previous.committedMarker;
  await sink.raise({ key, value: marker });
  const ctx: PartitionContext = {
    tp,
    producer,
    committedMarker: marker,
    committedHere: previous?.committedHere ?? -1n,
    markCommitted: (offset) => {
      if (offset > ctx.committedMarker) ctx.committedMarker = offset;
      if (offset > ctx.committedHere) ctx.committedHere = offset;
      // not awaited: the window is done; the next write on the same connection queues behind it
      sink.raise({ key, value: offset }).catch((err: unknown) => {
        deps.logger.warn(
          { err, partition: tpKey(tp) },
          'could not record the committed offset in Redis; it is recorded again with the next window',
        );
      });
    },
    refreshMarker: async () => {
      const committed = await deps.consumer.committedOffset(tp);
      if (committed !== null && committed - 1n > ctx.committedMarker) ctx.committedMarker = committed - 1n;
      return ctx.committedMarker;
    },
  };
  return ctx;
}
