import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedisStore } from '../adapters/redis.js';
import type { RedisStore } from '../adapters/redis.js';
import { createRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { AvroEncoder, PredictionEventWriter } from '../emit/index.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { explainerFor } from '../explain/index.js';
import { featureNames } from '../features/index.js';
import { DriftMonitor } from '../drift/index.js';
import { ScoreJumps } from '../guard/index.js';
import { createKafkaClient } from '../adapters/kafka.js';
import {
  compatibilityProblems,
  ModelSlot,
  readAliases,
  Reconciler,
  resolveInitialModel,
} from '../lifecycle/index.js';
import type { ServingModel } from '../lifecycle/index.js';
import { loadModel } from '../models/index.js';
import type { LoadedModel } from '../models/index.js';
import type { Logger } from '../observe/logger.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import { createScorer } from '../score/index.js';
import { RedisSink } from '../sink/index.js';
import type { ModelStamp, StateFields } from '../sink/index.js';
import { StreamscoreError } from '../errors/index.js';
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
 * `ctx.models` and closes them.
 */
export async function buildPipelineContext(
  opts: ContextOptions,
): Promise<{ readonly ctx: PipelineContext; readonly redis: RedisStore }> {
  const { config, logger, metrics, projectDir, env } = opts;
  // an absolute model.dir is taken as it is; a relative one is under the project
  const modelDir = resolve(projectDir, config.model.dir);
  const load = (version: string) => loadModel(modelDir, config.model.name, version);
  const aliases =
    config.model.alias === undefined
      ? undefined
      : await readAliases(createKafkaClient(config.kafka, logger), config);
  const initial = await resolveInitialModel(config, aliases, load);
  for (const r of initial.refused) {
    metrics.promotions.inc({ outcome: 'refused' });
    metrics.modelRefused.set(1);
    logger.error(
      { alias: config.model.alias, version: r.version, problem: r.problem },
      'the alias names a model version that cannot serve; falling back to the last good version',
    );
  }
  const model = initial.loaded;
  const fields = initial.kept;
  const serve = (loaded: LoadedModel): ServingModel => ({
    loaded,
    scorer: createScorer(loaded),
    featureSpec: loaded.featureSpec,
    stamp: stampOf(loaded),
    drift: config.drift.enabled
      ? new DriftMonitor(
          loaded.manifest.reference,
          featureNames(loaded.featureSpec),
          config.drift,
          loaded.manifest.thresholds,
        )
      : null,
    explainer: explainerFor(loaded, config.reasons),
  });
  const models = new ModelSlot(serve(model), { load, serve, kept: fields });
  const challenger =
    config.model.challenger === undefined ? null : await loadChallenger(config, load, model, fields);
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
  const shadowEncoder =
    challenger === null
      ? null
      : AvroEncoder.register<PredictionEventV1>(
          registry,
          `${config.outputs.shadow}-value`,
          join(projectDir, 'schemas/predictions-value.avsc'),
        );
  const [predictionEncoder, predictionWriter, auditEncoder, shadow] = await Promise.all([
    encoders,
    shadowEncoder,
  ])
    // the writer checks the registered schema is the one it lays out: a failure here closes the models too
    .then(([[p, a], sh]) => [p, new PredictionEventWriter(p.schemaId, p.type), a, sh] as const)
    .catch(async (err: unknown) => {
      await models.close();
      await challenger?.scorer.close();
      throw err;
    });
  const redis = createRedisStore(config.redis, `streamscore:${config.pipeline.name}`);
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
    models,
    controlEnds: initial.controlEnds,
    // a window reads these once, when it opens (processWindow takes a copy): a promotion applied meanwhile
    // is for the partition's next window
    get scorer() {
      return models.current.scorer;
    },
    get featureSpec() {
      return models.current.featureSpec;
    },
    get model() {
      return models.current.stamp;
    },
    get drift() {
      return models.current.drift;
    },
    get explainer() {
      return models.current.explainer;
    },
    predictionEncoder,
    predictionWriter,
    auditEncoder,
    challenger:
      challenger === null || shadow === null
        ? null
        : {
            model: challenger,
            encoder: shadow,
            reconciler: new Reconciler(
              config.model.challengerHorizonRows,
              actionTier(model.manifest.thresholds),
            ),
          },
    logger,
    metrics,
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

/** The highest tier: the one a decision acts on (e.g. `high`: retention outreach). */
function actionTier(thresholds: ReadonlyArray<{ readonly tier: string; readonly min: number }>): string {
  return [...thresholds].sort((a, b) => b.min - a.min)[0]?.tier ?? '';
}

/**
 * The challenger (model.challenger): loaded like the champion, and it must read nothing the state does not
 * keep and mean the same thing, or the start fails naming why.
 */
async function loadChallenger(
  config: Readonly<Config>,
  load: (version: string) => Promise<LoadedModel>,
  champion: LoadedModel,
  kept: StateFields,
): Promise<ServingModel> {
  const loaded = await load(config.model.challenger as string);
  const problems = compatibilityProblems(champion, loaded, kept);
  if (problems.length > 0) {
    await loaded.close();
    throw new StreamscoreError(
      'SS_MODEL_INCOMPATIBLE',
      `model.challenger ${config.model.name}/${config.model.challenger} cannot be scored next to ${config.model.name}/${champion.manifest.version}:\n  - ${problems.join('\n  - ')}`,
      { details: { field: 'model.challenger', problems } },
    );
  }
  return {
    loaded,
    scorer: createScorer(loaded),
    featureSpec: loaded.featureSpec,
    stamp: stampOf(loaded),
    drift: null,
    explainer: null,
  };
}

/** What every prediction and audit event says of the model that made it. */
export function stampOf(loaded: LoadedModel): ModelStamp {
  return {
    name: loaded.manifest.name,
    version: loaded.manifest.version,
    sha256: loaded.sha256,
    trainingRunId: loaded.manifest.training_run_id,
    featureVersion: `${loaded.featureSpec.name}@${loaded.featureSpec.version}`,
  };
}
