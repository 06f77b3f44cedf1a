/**
 * Which model an instance serves at start, and how it follows promotions afterwards.
 *
 * Pinned (`model.version`, no `model.alias`): that version, for the life of the process. Following an alias:
 * the alias's latest promotion on the control topic; when that version cannot be loaded or no longer has
 * the recorded sha256, the version it replaced, then `model.version` — the last good one — with an error
 * logged and the refusal counted. Afterwards every new promotion of the alias is applied by the slot at
 * each partition's next window boundary, or refused (the running model stays).
 */
import { randomUUID } from 'node:crypto';
import { followControl } from '../adapters/kafka-control.js';
import type { ControlFollower } from '../adapters/kafka-control.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { Config } from '../config/index.js';
import { describeError } from '../errors/index.js';
import type { LoadedModel } from '../models/index.js';
import type { Logger } from '../observe/logger.js';
import type { PipelineMetrics } from '../observe/metrics.js';
import type { ModelStamp } from '../sink/index.js';
import type { AliasView } from './admin.js';
import { compatibilityProblems, keptStateFor } from './compat.js';
import type { StateFields } from '../sink/index.js';
import { decodePromotion } from './control.js';
import type { ModelPromotion } from './control.js';
import type { ModelSlot, PromotionOutcome } from './slot.js';

export interface InitialModel {
  readonly loaded: LoadedModel;
  /**
   * What the instance's state keeps: the needs of `model.version` (the deployment's baseline) when it
   * loads, else of the served model. Every later promotion must fit it.
   */
  readonly kept: StateFields;
  /** The alias's promotion the instance started from (undefined: pinned, or never promoted). */
  readonly promotion: ModelPromotion | undefined;
  /** Versions tried first and refused, with why. */
  readonly refused: ReadonlyArray<{ readonly version: string; readonly problem: string }>;
  /** Where to follow the control topic from (empty when pinned). */
  readonly controlEnds: ReadonlyMap<number, bigint>;
}

/**
 * The model to start with. `model.version` is the deployment's baseline: it fixes the state the instance
 * keeps, and an alias target must fit it like a promotion must fit a running model (compat.ts). Following
 * an alias: its target (with the recorded sha256), else the version it replaced, else the baseline.
 * An instance starting while the alias names a refused version may so serve an older version than
 * instances that were running before the refusal (they keep what they had); the refusal alert is firing
 * meanwhile, and the next compatible promotion brings them together.
 */
export async function resolveInitialModel(
  config: Readonly<Config>,
  view: Pick<AliasView, 'aliases' | 'ends'> | undefined,
  load: (version: string) => Promise<LoadedModel>,
): Promise<InitialModel> {
  const alias = config.model.alias;
  const baseline = await load(config.model.version).catch((err: unknown) => err as Error);
  if (alias === undefined || view === undefined) {
    if (baseline instanceof Error) throw baseline;
    return {
      loaded: baseline,
      kept: keptStateFor(baseline.featureSpec),
      promotion: undefined,
      refused: [],
      controlEnds: new Map(),
    };
  }
  const promotion = view.aliases.get(alias);
  const tries: Array<{ version: string; sha256?: string }> = [];
  if (promotion !== undefined) {
    tries.push({ version: promotion.to, sha256: promotion.sha256 });
    if (promotion.from !== null && promotion.from !== config.model.version)
      tries.push({ version: promotion.from });
  }
  const refused: Array<{ version: string; problem: string }> = [];
  const kept = baseline instanceof Error ? undefined : keptStateFor(baseline.featureSpec);
  for (const t of tries) {
    let loaded: LoadedModel;
    try {
      loaded = await load(t.version);
    } catch (err) {
      refused.push({ version: t.version, problem: describeError(err) });
      continue;
    }
    const problems =
      baseline instanceof Error
        ? t.sha256 !== undefined && loaded.sha256 !== t.sha256
          ? [`model.onnx has sha256 ${loaded.sha256}, the promotion recorded ${t.sha256}`]
          : []
        : compatibilityProblems(baseline, loaded, kept as StateFields, t.sha256);
    if (problems.length === 0) {
      if (!(baseline instanceof Error) && baseline !== loaded) await baseline.close();
      return {
        loaded,
        kept: kept ?? keptStateFor(loaded.featureSpec),
        promotion,
        refused,
        controlEnds: view.ends,
      };
    }
    await loaded.close();
    refused.push({ version: t.version, problem: problems.join('; ') });
  }
  if (baseline instanceof Error) throw baseline;
  return { loaded: baseline, kept: kept as StateFields, promotion, refused, controlEnds: view.ends };
}

export interface FollowOptions {
  readonly kafka: KafkaClient;
  readonly config: Readonly<Config>;
  readonly slot: ModelSlot;
  readonly from: ReadonlyMap<number, bigint>;
  readonly logger: Logger;
  readonly onOutcome: (outcome: PromotionOutcome, promotion: ModelPromotion) => void;
}

/** Applies every later promotion of the configured alias to the slot, one at a time, in log order. */
export async function followPromotions(opts: FollowOptions): Promise<ControlFollower> {
  const { config, logger } = opts;
  const alias = config.model.alias as string;
  return followControl(
    opts.kafka,
    config.control.topic,
    `${config.consumer.groupId}.control.${randomUUID()}`,
    opts.from,
    async (r) => {
      let p: ModelPromotion | undefined;
      try {
        p = decodePromotion(r.key, r.value, `${r.partition}@${r.offset}`);
      } catch (err) {
        logger.error({ err }, 'control record ignored: not a readable model promotion');
        return;
      }
      if (p === undefined || p.pipeline !== config.pipeline.name || p.model !== config.model.name) return;
      if (p.alias !== alias) return;
      const outcome = await opts.slot.apply(p);
      opts.onOutcome(outcome, p);
    },
  );
}

/** Logs and counts what became of each promotion (metrics: promotions by outcome, refused, model info). */
export function promotionReporter(
  metrics: PipelineMetrics,
  logger: Logger,
  serving: () => ModelStamp,
): (o: PromotionOutcome, p: ModelPromotion) => void {
  return (o, p) => {
    metrics.promotions.inc({ outcome: o.outcome });
    const record = { alias: p.alias, from: p.from, to: p.to, by: p.by, reason: p.reason, at: p.at };
    if (o.outcome === 'refused') {
      metrics.modelRefused.set(1);
      logger.error(
        { promotion: record, problems: o.problems, serving: serving().version },
        'model promotion refused: the running model stays',
      );
      return;
    }
    metrics.modelRefused.set(0);
    if (o.outcome === 'applied') {
      metrics.modelInfo(serving());
      logger.warn(
        { promotion: record, model: serving() },
        'model promoted: each partition switches at its next window',
      );
    }
  };
}
