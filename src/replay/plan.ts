/**
 * What `streamscore replay` runs: the pipeline itself, with a config of its own derived from the live one
 * (pure, so it is unit-tested): the model pinned to the asked version (no alias, no challenger), its own
 * consumer group, Redis key prefix and output topics, so it never touches live keys or topics, and a
 * metrics port of its own.
 */
import type { Config } from '../config/index.js';
import { JOB_PATTERN } from '../rescore/index.js';

export { JOB_PATTERN };

/** The names a replay job writes under, from the live config's. */
export function replayNames(config: Readonly<Config>, job: string) {
  const suffix = `.replay.${job}`;
  return {
    groupId: `${config.consumer.groupId}${suffix}`,
    keyPrefix: `${config.redis.keyPrefix}replay:${job}:`,
    outputs: {
      predictions: `${config.outputs.predictions}${suffix}`,
      audit: `${config.outputs.audit}${suffix}`,
      dlq: `${config.outputs.dlq}${suffix}`,
      quarantine: `${config.outputs.quarantine}${suffix}`,
      shadow: `${config.outputs.shadow}${suffix}`,
    },
  };
}

/** The live output topics a replay copies (partitions, replication, configs) under its own names. */
export const REPLAYED_OUTPUTS = ['predictions', 'audit', 'dlq', 'quarantine'] as const;

export function replayConfig(config: Readonly<Config>, job: string, modelVersion: string): Config {
  const names = replayNames(config, job);
  const { alias: _alias, challenger: _challenger, ...model } = config.model;
  return {
    ...config,
    consumer: { ...config.consumer, groupId: names.groupId, fromBeginning: true },
    redis: { ...config.redis, keyPrefix: names.keyPrefix },
    outputs: { ...config.outputs, ...names.outputs },
    model: { ...model, version: modelVersion },
    observe: { ...config.observe, port: 0 },
    timers: { ...config.timers, enabled: false },
  };
}

/**
 * Partitions still to replay: those with records before their end that are neither committed up to it nor
 * reported done by the bounded pipeline.
 */
export function partitionsLeft(
  ends: ReadonlyMap<string, { low: bigint; end: bigint }>,
  committed: ReadonlyMap<string, bigint>,
  reached: ReadonlySet<string>,
): string[] {
  const left: string[] = [];
  for (const [key, { low, end }] of ends) {
    if (end <= low || reached.has(key)) continue;
    if ((committed.get(key) ?? -1n) >= end) continue;
    left.push(key);
  }
  return left;
}
