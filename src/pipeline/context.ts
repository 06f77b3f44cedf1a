import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedisStore } from '../adapters/redis.js';
import type { RedisStore } from '../adapters/redis.js';
import { createRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { AvroEncoder } from '../emit/index.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { DAY_MS, eventNeeds, featureNames, profileFields } from '../features/index.js';
import { DriftMonitor } from '../drift/index.js';
import { ScoreJumps } from '../guard/index.js';
import { loadModel } from '../models/index.js';
import type { Logger } from '../observe/logger.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import { createScorer } from '../score/index.js';
import { RedisSink } from '../sink/index.js';
import { RejectionGate } from '../validate/index.js';
import { buildRoles } from './roles.js';
import { crashPointFromEnv } from './test-hooks.js';
import type { PipelineContext } from './types.js';

export interface ContextOptions {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  /** Folder holding models/ and schemas/. */
  readonly projectDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * What every window of a pipeline shares: the model and its scorer, the output encoders (schemas
 * registered), the input roles, the Redis store and the state sink. The caller owns `redis` and
 * `ctx.scorer` and closes them.
 */
export async function buildPipelineContext(
  opts: ContextOptions,
): Promise<{ readonly ctx: PipelineContext; readonly redis: RedisStore }> {
  const { config, logger, metrics, projectDir, env } = opts;
  // an absolute model.dir is taken as it is; a relative one is under the project
  const model = await loadModel(
    resolve(projectDir, config.model.dir),
    config.model.name,
    config.model.version,
  );
  const scorer = createScorer(model);
  const registry = createRegistryClient(config.registry);
  const encoders = Promise.all([
    AvroEncoder.register<PredictionEventV1>(
      registry,
      `${config.outputs.predictions}-value`,
      join(projectDir, 'schemas/predictions-value.avsc'),
    ),
    AvroEncoder.register<AuditEventV1>(
      registry,
      `${config.outputs.audit}-value`,
      join(projectDir, 'schemas/audit-value.avsc'),
    ),
  ]);
  const [predictionEncoder, auditEncoder] = await encoders.catch(async (err: unknown) => {
    await scorer.close();
    throw err;
  });
  const redis = createRedisStore(config.redis, `streamscore:${config.pipeline.name}`);
  const spec = model.featureSpec;
  const needs = eventNeeds(spec, 30); // events are kept for at least 30 days, whatever the spec needs
  const fields = {
    profile: profileFields(spec),
    event: needs.fields,
    lookbackMs: needs.lookbackDays * DAY_MS,
  };
  const crash = crashPointFromEnv(env);
  const ctx: PipelineContext = {
    config,
    instance: `${hostname()}:${process.pid}`,
    roles: buildRoles(config, registry, projectDir, fields.profile),
    sink: new RedisSink(redis, {
      prefix: config.redis.keyPrefix,
      pipeline: config.pipeline.name,
      fields,
      cacheBytes: config.state.cacheMb * 1024 * 1024,
    }),
    fields,
    scorer,
    featureSpec: spec,
    model: {
      name: model.manifest.name,
      version: model.manifest.version,
      sha256: model.sha256,
      trainingRunId: model.manifest.training_run_id,
      featureVersion: `${spec.name}@${spec.version}`,
    },
    predictionEncoder,
    auditEncoder,
    logger,
    metrics,
    drift: config.drift.enabled
      ? new DriftMonitor(
          model.manifest.reference,
          featureNames(spec),
          config.drift,
          model.manifest.thresholds,
        )
      : null,
    jumps: new ScoreJumps(config.guard.jumpThreshold, config.guard.jumpMemoryEntities),
    gate: new RejectionGate({
      ratio: config.dlq.floodRatio,
      minRecords: config.dlq.floodMinRecords,
      rollingRecords: config.dlq.rollingRecords,
    }),
    ...(crash === undefined ? {} : { crashPoint: crash }),
  };
  return { ctx, redis };
}
