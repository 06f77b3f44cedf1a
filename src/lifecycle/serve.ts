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
import { readAliases } from './admin.js';
import { decodePromotion } from './control.js';
import type { ModelPromotion } from './control.js';
import type { ModelSlot, PromotionOutcome } from './slot.js';

export interface InitialModel {
  readonly loaded: LoadedModel;
  /** The alias's promotion the instance started from (undefined: pinned, or never promoted). */
  readonly promotion: ModelPromotion | undefined;
  /** Versions tried first and refused, with why. */
  readonly refused: ReadonlyArray<{ readonly version: string; readonly problem: string }>;
  /** Where to follow the control topic from (empty when pinned). */
  readonly controlEnds: ReadonlyMap<number, bigint>;
}

export async function resolveInitialModel(
  config: Readonly<Config>,
  kafka: () => KafkaClient,
  load: (version: string) => Promise<LoadedModel>,
): Promise<InitialModel> {
  const alias = config.model.alias;
  if (alias === undefined)
    return {
      loaded: await load(config.model.version),
      promotion: undefined,
      refused: [],
      controlEnds: new Map(),
    };
  const view = await readAliases(kafka(), config);
  const promotion = view.aliases.get(alias);
  const tries: Array<{ version: string; sha256?: string }> = [];
  if (promotion !== undefined) {
    tries.push({ version: promotion.to, sha256: promotion.sha256 });
    if (promotion.from !== null) tries.push({ version: promotion.from });
  }
  if (!tries.some((t) => t.version === config.model.version)) tries.push({ version: config.model.version });
  const refused: Array<{ version: string; problem: string }> = [];
  for (const [i, t] of tries.entries()) {
    try {
      const loaded = await load(t.version);
      if (t.sha256 !== undefined && loaded.sha256 !== t.sha256) {
        await loaded.close();
        throw new Error(`model.onnx has sha256 ${loaded.sha256}, the promotion recorded ${t.sha256}`);
      }
      return { loaded, promotion, refused, controlEnds: view.ends };
    } catch (err) {
      if (i === tries.length - 1) throw err;
      refused.push({ version: t.version, problem: describeError(err) });
    }
  }
  throw new Error('unreachable');
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
    `streamscore-control-${config.pipeline.name}-${randomUUID()}`,
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
