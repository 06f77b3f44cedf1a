/**
 * The model a rescore job scores with: the one the pipeline serves (the alias's champion, else
 * `model.version`), resolved by the same rule the pipeline starts with (resolveInitialModel), and the state
 * fields that rule says the pipeline keeps.
 */
import { resolve } from 'node:path';
import type { KafkaClient } from '../adapters/kafka.js';
import type { Config } from '../config/index.js';
import { explainerFor } from '../explain/index.js';
import type { Explainer } from '../explain/index.js';
import type { FeatureSpec } from '../features/index.js';
import { readAliases, resolveInitialModel } from '../lifecycle/index.js';
import { loadModel } from '../models/index.js';
import type { LoadedModel } from '../models/index.js';
import { stampOf } from '../pipeline/context.js';
import { createScorer } from '../score/index.js';
import type { Scorer } from '../score/index.js';
import type { ModelStamp, StateFields } from '../sink/index.js';

export interface ServedModel {
  readonly loaded: LoadedModel;
  readonly scorer: Scorer;
  readonly spec: FeatureSpec;
  readonly stamp: ModelStamp;
  readonly explainer: Explainer | null;
  /** The state fields the pipeline keeps (decides how stored states are read). */
  readonly kept: StateFields;
  close(): Promise<void>;
}

export async function servedModel(
  config: Readonly<Config>,
  kafka: KafkaClient,
  projectDir: string,
  onWarning?: (message: string) => void,
): Promise<ServedModel> {
  const modelDir = resolve(projectDir, config.model.dir);
  const aliases = config.model.alias === undefined ? undefined : await readAliases(kafka, config);
  const initial = await resolveInitialModel(config, aliases, (v) =>
    loadModel(modelDir, config.model.name, v),
  );
  for (const r of initial.refused)
    onWarning?.(
      `the alias names ${config.model.name}/${r.version}, which cannot serve (${r.problem}); the pipeline serves the fallback, and so does this job`,
    );
  const loaded = initial.loaded;
  const scorer = createScorer(loaded);
  return {
    loaded,
    scorer,
    spec: loaded.featureSpec,
    stamp: stampOf(loaded),
    explainer: explainerFor(loaded, config.reasons),
    kept: initial.kept,
    async close() {
      await scorer.close().catch(() => undefined);
      await loaded.close().catch(() => undefined);
    },
  };
}
