/**
 * The write half of a window: features and one ONNX run for the entities to score, the output guard, then
 * one compare-and-set round trip to Redis per round. Re-emission of stored predictions (the retry of a
 * window that never committed) is settled here too.
 */
import { buildMatrixYielding } from '../features/index.js';
import type { FeatureSpec } from '../features/index.js';
import { StreamscoreError } from '../errors/index.js';
import { scoreExplained } from '../explain/index.js';
import { guardScores } from '../guard/index.js';
import type { DriftReport } from '../drift/index.js';
import type { ReconcileStats, ScoredPair } from '../lifecycle/index.js';
import type { ScoreBatch } from '../score/index.js';
import { triggerText, withVersions } from '../sink/index.js';
import type { PredictionRecord, StateWrite, StoredPrediction } from '../sink/index.js';
import type { RecordRef } from '../window/index.js';
import type { StageTimer } from './accounting.js';
import { planEntity, triggerInWindow } from './plan.js';
import type { EntityPlan } from './plan.js';
import type { PartitionContext, PipelineContext } from './types.js';

/** Compare-and-set rounds before a window gives up and is retried (each round follows a concurrent change). */
const MAX_WRITE_ROUNDS = 8;

/** What the window wrote for one entity (a prediction with the version the store gave it). */
export interface Written {
  readonly plan: EntityPlan;
  readonly prediction: PredictionRecord;
  readonly version: number;
  /** The challenger's prediction of the same entity (model.challenger): for the shadow topic only. */
  readonly shadow?: PredictionRecord;
}

/** A scored entity the output guard kept from publishing: its state was written, its prediction not. */
export interface Quarantined {
  readonly plan: EntityPlan;
  /** What would have been published. */
  readonly prediction: PredictionRecord;
}

export interface WindowWrites {
  /** The drift monitor's report after this window's scored rows; null without drift or rows to score. */
  readonly drift: DriftReport | null;
  readonly written: Written[];
  readonly quarantined: Quarantined[];
  /** Set when the guard failed the window as a whole (every score of it is quarantined). */
  readonly quarantineReason: string | null;
  /** Champion vs challenger on this window's published scores and over the horizon; null without one. */
  readonly challenger: { readonly window: ReconcileStats; readonly horizon: ReconcileStats } | null;
}

/**
 * Re-emitting is for the retry of a window that never committed: the stored prediction must come from a
 * record of this window past the committed offset. Before trusting the in-memory marker, ask the broker:
 * a commit whose acknowledgement was lost must not be emitted twice. Candidates that fail a check become
 * `unchanged` (in place); returns the stored predictions to emit, by plan index.
 */
export async function settleReemits(
  ctx: PipelineContext,
  part: PartitionContext,
  plans: EntityPlan[],
  only?: readonly number[],
): Promise<Map<number, StoredPrediction>> {
  const out = new Map<number, StoredPrediction>();
  const candidates = (only ?? plans.map((_, i) => i)).filter((i) => plans[i]?.action === 'reemit');
  if (candidates.length === 0) return out;
  const marker = await part.refreshMarker();
  const stored = await ctx.sink.storedPredictions(
    candidates.map((i) => (plans[i] as EntityPlan).work.entityId),
  );
  candidates.forEach((i, j) => {
    const p = plans[i] as EntityPlan;
    const s = stored[j];
    const trigger =
      s === null || s === undefined
        ? ''
        : triggerText({ topic: s.trigger_topic, partition: s.trigger_partition, offset: s.trigger_offset });
    if (s !== null && s !== undefined && s.version === p.base.pv && triggerInWindow(trigger, p.work, marker))
      out.set(i, s);
    else plans[i] = { ...p, action: 'unchanged' };
  });
  return out;
}

const WRITES = new Set(['score', 'delete', 'state']);

/**
 * Writes the window's states and predictions: features and one ONNX run for the entities to score, then
 * one compare-and-set round trip. An entity another writer changed meanwhile (the other input partition's
 * window of the same entity, another instance) is planned again from the state Redis returned and written
 * in another round; its action may change (its records may already be applied).
 */
export async function writeStates(
  ctx: PipelineContext,
  part: PartitionContext,
  plans: EntityPlan[],
  stored: Map<number, StoredPrediction>,
  window: {
    readonly batchId: string;
    readonly timer: StageTimer;
    /** The batch's group heartbeat, between the long steps (see processWindow). */
    readonly heartbeat: () => Promise<void>;
  },
): Promise<WindowWrites> {
  const { batchId, timer } = window;
  const { config, metrics } = ctx;
  const written: Written[] = [];
  const quarantined: Quarantined[] = [];
  let quarantineReason: string | null = null;
  let drift: DriftReport | null = null;
  let pending = plans.flatMap((p, i) => (WRITES.has(p.action) ? [i] : []));
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_WRITE_ROUNDS)
      throw new StreamscoreError(
        'SS_COMMIT_FAILED',
        `window ${batchId}: ${pending.length} entities changed concurrently in ${MAX_WRITE_ROUNDS} rounds; the window is retried`,
        { retriable: true },
      );
    const toScore = pending.filter((i) => plans[i]?.action === 'score');
    const inputs = toScore.map((i) => {
      const s = (plans[i] as EntityPlan).state;
      return { profile: s.profile, events: s.events, asOfMs: s.clock };
    });
    const matrix = await buildMatrixYielding(ctx.featureSpec, inputs);
    metrics.stageSeconds.observe({ stage: 'features' }, timer.lap('features') / 1000);
    // with substitution reason codes the window's one ONNX run also scores a substituted copy of each row
    const { scored, reasons } = await scoreExplained(ctx.scorer, ctx.explainer, matrix, toScore.length);
    metrics.stageSeconds.observe({ stage: 'score' }, timer.lap('score') / 1000);
    const shadow = await scoreChallenger(ctx, matrix, inputs, toScore.length);
    if (shadow !== null)
      metrics.stageSeconds.observe({ stage: 'challenger' }, timer.lap('challenger') / 1000);
    // the output guard: nothing it refuses reaches Redis's predictions or the predictions topic
    let failure = guardScores(scored, toScore.length, ctx.scorer.model, config.guard);
    if (ctx.drift !== null && toScore.length > 0) {
      drift = ctx.drift.observe(matrix, toScore.length, scored.scores);
      publishDrift(ctx, drift);
      if (failure === null && drift.flagged.length > 0 && config.drift.action === 'block')
        failure = {
          check: 'drift',
          reason: `features ${drift.flagged.join(', ')} drifted from the model's reference over the last ${drift.rows} scored rows (drift.action=block)`,
        };
    }
    if (failure !== null) {
      if (config.guard.policy === 'halt')
        throw new StreamscoreError('SS_GUARD_FAILED', `window ${batchId}: ${failure.reason}`, {
          details: { check: failure.check },
        });
      quarantineReason ??= failure.reason;
    }
    await window.heartbeat();

    const scoredAt = Date.now();
    const width = ctx.featureSpec.features.length;
    // plan index → its row in the matrix (-1: not scored); one typed array, not a pair and a Map entry each
    const rows = new Int32Array(plans.length).fill(-1);
    toScore.forEach((i, r) => (rows[i] = r));
    const rowOf = (i: number): number | undefined => {
      const r = rows[i] as number;
      return r < 0 ? undefined : r;
    };
    const writes: StateWrite[] = [];
    const predictions: Array<PredictionRecord | null> = [];
    const held = new Map<number, PredictionRecord>();
    for (const i of pending) {
      const p = plans[i] as EntityPlan;
      const trigger = p.work.records[p.work.records.length - 1] as RecordRef;
      const r = rowOf(i);
      const prediction: PredictionRecord | null =
        p.action === 'state'
          ? null
          : {
              entityId: p.work.entityId,
              kind: p.action === 'score' ? 'upsert' : 'delete',
              score: r === undefined ? null : (scored.scores[r] as number),
              tier: r === undefined ? null : (scored.tiers[r] ?? null),
              // a view of the window's matrix, not a copy: slice allocates an ArrayBuffer per entity (~1.2 µs)
              features: r === undefined ? null : matrix.subarray(r * width, (r + 1) * width),
              asOfMs: p.state.clock,
              scoredAtMs: scoredAt,
              validUntilMs: r === undefined ? null : scoredAt + config.predictions.validForMs,
              batchId,
              trigger,
              basis: p.state.applied,
              reasons: r === undefined || reasons === null ? null : (reasons[r] ?? null),
            };
      // a refused score: the state is written (its events count from now on), the prediction is not, so
      // the entity stays owed one (state version above prediction version) and Redis keeps the last good
      const refused =
        prediction !== null && r !== undefined && (quarantineReason !== null || scored.tiers[r] === null);
      if (refused) held.set(writes.length, prediction);
      const published = refused ? null : prediction;
      predictions.push(published);
      writes.push({
        entityId: p.work.entityId,
        base: p.base,
        next: withVersions(p.state, p.state.sv, p.state.pv, published === null ? '' : triggerText(trigger)),
        storeProfile: p.change.storeProfile,
        eventsChanged: p.change.eventsChanged,
        prediction: published,
      });
    }
    const results = await ctx.sink.write(writes, ctx.model);
    const again: number[] = [];
    results.forEach((res, j) => {
      const i = pending[j] as number;
      const p = plans[i] as EntityPlan;
      if (res.ok) {
        const refused = held.get(j);
        if (refused !== undefined) quarantined.push({ plan: p, prediction: refused });
        const prediction = predictions[j];
        if (prediction !== null && prediction !== undefined) {
          const r = rowOf(i);
          written.push(
            shadow === null
              ? { plan: p, prediction, version: res.version }
              : {
                  plan: p,
                  prediction,
                  version: res.version,
                  shadow: shadowPrediction(prediction, shadow, r),
                },
          );
          if (prediction.score !== null && ctx.jumps.record(prediction.entityId, prediction.score))
            metrics.scoreJumps.inc();
        }
        return;
      }
      plans[i] = planEntity(p.work, res.current, ctx.fields, part.committedMarker);
      again.push(i);
    });
    if (again.length > 0) {
      metrics.records.inc({ stage: 'state', topic: part.tp.topic, outcome: 'conflict' }, again.length);
      for (const [i, s] of await settleReemits(ctx, part, plans, again)) stored.set(i, s);
    }
    pending = again.filter((i) => WRITES.has((plans[i] as EntityPlan).action));
  }
  if (quarantined.length > 0) {
    metrics.quarantined.inc(quarantined.length);
    quarantineReason ??= `${quarantined.length} scores outside the model's valid range, each quarantined alone`;
  }
  return { written, quarantined, quarantineReason, drift, challenger: reconcileWindow(ctx, written) };
}

interface ShadowScores {
  readonly batch: ScoreBatch;
  readonly matrix: Float32Array;
  readonly width: number;
}

/** Champion spec → challenger spec → whether their vectors are the same (decided once per pair of specs). */
const sameVectors = new WeakMap<FeatureSpec, WeakMap<FeatureSpec, boolean>>();

function sharesMatrix(champion: FeatureSpec, challenger: FeatureSpec): boolean {
  let known = sameVectors.get(champion);
  if (known === undefined) sameVectors.set(champion, (known = new WeakMap()));
  let same = known.get(challenger);
  if (same === undefined) {
    same = JSON.stringify(champion.features) === JSON.stringify(challenger.features);
    known.set(challenger, same);
  }
  return same;
}

/** One more ONNX run: the challenger on the same entities (its own matrix only if its spec differs). */
async function scoreChallenger(
  ctx: PipelineContext,
  matrix: Float32Array,
  inputs: ReadonlyArray<{
    profile: EntityPlan['state']['profile'];
    events: EntityPlan['state']['events'];
    asOfMs: number;
  }>,
  rows: number,
): Promise<ShadowScores | null> {
  const ch = ctx.challenger;
  if (ch === null) return null;
  const spec = ch.model.featureSpec;
  const own = sharesMatrix(ctx.featureSpec, spec) ? matrix : await buildMatrixYielding(spec, inputs);
  const batch =
    rows === 0
      ? { scores: new Float32Array(0), tiers: [] as Array<string | null>, invalid: null }
      : await ch.model.scorer.score(own, rows);
  return { batch, matrix: own, width: spec.features.length };
}

/** The champion's prediction as the challenger made it (a delete stays a delete). */
function shadowPrediction(p: PredictionRecord, s: ShadowScores, r: number | undefined): PredictionRecord {
  if (r === undefined) return p;
  return {
    ...p,
    reasons: null,
    score: s.batch.scores[r] as number,
    tier: s.batch.tiers[r] ?? null,
    features: s.matrix.subarray(r * s.width, (r + 1) * s.width),
  };
}

function reconcileWindow(ctx: PipelineContext, written: readonly Written[]): WindowWrites['challenger'] {
  const ch = ctx.challenger;
  if (ch === null) return null;
  const pairs: ScoredPair[] = [];
  for (const w of written) {
    const a = w.prediction;
    const b = w.shadow;
    if (a.score === null || b === undefined || b.score === null) continue;
    pairs.push({ champion: a.score, challenger: b.score, championTier: a.tier, challengerTier: b.tier });
  }
  const stats = ch.reconciler.observe(pairs);
  for (const scope of ['window', 'horizon'] as const) {
    const st = stats[scope];
    if (st.rows === 0) continue;
    ctx.metrics.challengerDiff.set({ scope }, st.mean_abs_diff);
    ctx.metrics.challengerTierAgreement.set({ scope }, st.tier_agreement);
    ctx.metrics.challengerDecisionChanged.set({ scope }, st.decision_changed);
    if (st.rank_correlation !== null)
      ctx.metrics.challengerRankCorrelation.set({ scope }, st.rank_correlation);
  }
  return stats;
}

/** Drift metrics, and a log line when a feature starts or stops drifting. */
function publishDrift(ctx: PipelineContext, d: DriftReport): void {
  const { metrics, logger } = ctx;
  for (const f of d.features) {
    metrics.featurePsi.set({ feature: f.name }, f.psi);
    if (f.ks !== null) metrics.featureKs.set({ feature: f.name }, f.ks);
    metrics.driftFlagged.set({ feature: f.name }, f.flagged ? 1 : 0);
  }
  metrics.scorePsi.set({ against: 'reference' }, d.score_psi_reference);
  if (d.score_psi_previous !== null) metrics.scorePsi.set({ against: 'previous' }, d.score_psi_previous);
  metrics.tierMixPsi.set(d.tier_mix_psi);
  const stats = (names: string[]) =>
    d.features.filter((f) => names.includes(f.name)).map((f) => ({ feature: f.name, psi: f.psi, ks: f.ks }));
  if (d.started.length > 0)
    logger.warn(
      { drift: stats(d.started), rows: d.rows },
      `features drift from the model's reference: ${d.started.join(', ')}`,
    );
  if (d.stopped.length > 0)
    logger.info(
      { drift: stats(d.stopped), rows: d.rows },
      `features no longer drift: ${d.stopped.join(', ')}`,
    );
}
