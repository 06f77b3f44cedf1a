/**
 * Rebuilding a Redis that lost its data from the log: the CDC topics (compacted: the latest row per key)
 * and the event topics (kept for at least the lookback) hold every input the state was made of.
 *
 *  1. State: every input partition is read from its start up to the end offset it had when the rebuild
 *     began, and applied to the entities' states with the same rules as a window (applyWork: LSN fence,
 *     event ids, lookback). No prediction is written and nothing is emitted for history. The result does
 *     not depend on the order partitions are read in: a CDC row only follows rows of its own partition,
 *     and an event outside the lookback of the final clock counts for nothing either way.
 *  2. Scores: every entity with a profile is scored once (one ONNX run per batch of entities) and gets a
 *     prediction with a new version; a deleted one gets its deletion again.
 *
 * What the pipeline still owes Kafka: records past the group's committed offset were never emitted (or
 * their window is about to commit). An entity changed by such a record is stored with its prediction
 * "owed" (header trigger ''), so the next window that reads it scores and emits it again instead of
 * taking the records as already done. While phase 1 runs, the header trigger is the last record applied,
 * prefixed with '!' when owed; phase 2 settles it.
 */
import { replayLog } from '../adapters/kafka-replay.js';
import type { LogBatch } from '../adapters/kafka-replay.js';
import type { KafkaClient } from '../adapters/kafka.js';
import { StreamscoreError } from '../errors/index.js';
import { requireValidScores } from '../score/index.js';
import { buildMatrixYielding } from '../features/index.js';
import { decodeValid } from '../pipeline/roles.js';
import type { PipelineContext } from '../pipeline/types.js';
import { applyWork, triggerText } from '../sink/index.js';
import type { EntityState, PredictionRecord, StateWrite } from '../sink/index.js';
import { groupByEntity } from '../window/index.js';
import type { EntityWork, RecordRef } from '../window/index.js';

export interface RebuildPlan {
  /** Per input partition (`topic/partition`): its first offset and the end offset read up to. */
  readonly ends: ReadonlyMap<string, { low: bigint; high: bigint }>;
  /** Per input partition: the group's committed offset when the rebuild began (absent: none). */
  readonly committed: ReadonlyMap<string, bigint>;
  /** Names the prediction's batch id and the throwaway consumer group. */
  readonly runId: string;
  /** Throws when the rebuild must stop (its claim on Redis was lost). */
  readonly check: () => void;
}

export interface RebuildStats {
  records: number;
  rejected: number;
  entities: number;
  scored: number;
  deleted: number;
  /** Entities changed by records past the committed offsets: their next window emits them. */
  owed: number;
  stateMs: number;
  scoreMs: number;
}

/** Compare-and-set rounds per batch: nobody else writes during a rebuild, so a conflict is unexpected. */
const MAX_ROUNDS = 4;
/** Entities per scoring batch (one Redis read, one ONNX run, one Redis write). */
const SCORE_BATCH = 1000;

const OWED = '!';

function lastRef(w: EntityWork): RecordRef {
  return w.records[w.records.length - 1] as RecordRef;
}

/** A stored header trigger during or after a rebuild: owed (or never settled) and the record it names. */
function readTrigger(s: EntityState): { owed: boolean; ref: string } {
  if (s.trigger === '') return { owed: true, ref: '' };
  if (s.trigger.startsWith(OWED)) return { owed: true, ref: s.trigger.slice(1) };
  return { owed: false, ref: s.trigger };
}

function parseRef(text: string): RecordRef {
  const a = text.lastIndexOf('/');
  const b = text.lastIndexOf('/', a - 1);
  if (a < 0 || b < 0) return { topic: '', partition: -1, offset: '-1' };
  return { topic: text.slice(0, b), partition: Number(text.slice(b + 1, a)), offset: text.slice(a + 1) };
}

export async function rebuildFromLog(
  ctx: PipelineContext,
  kafka: KafkaClient,
  plan: RebuildPlan,
): Promise<RebuildStats> {
  const stats: RebuildStats = {
    records: 0,
    rejected: 0,
    entities: 0,
    scored: 0,
    deleted: 0,
    owed: 0,
    stateMs: 0,
    scoreMs: 0,
  };
  const started = Date.now();
  const topics = [...ctx.roles.keys()];
  await replayLog(kafka, {
    topics,
    ends: plan.ends,
    groupId: `${ctx.config.consumer.groupId}.rebuild.${plan.runId}`,
    fetchMaxBytes: 16 * 1024 * 1024,
    check: plan.check,
    onBatch: async (batch) => {
      const n = await applyBatch(ctx, batch, plan.committed.get(`${batch.topic}/${batch.partition}`) ?? 0n);
      stats.records += batch.records.length;
      stats.rejected += n.rejected;
      ctx.metrics.rebuildRecords.inc(batch.records.length);
    },
  });
  stats.stateMs = Date.now() - started;
  const scoring = Date.now();
  for await (const ids of ctx.sink.entityIds(SCORE_BATCH)) {
    plan.check();
    const n = await scoreBatch(ctx, ids, `${ctx.config.pipeline.name}-rebuild-${plan.runId}`);
    stats.entities += ids.length;
    stats.scored += n.scored;
    stats.deleted += n.deleted;
    stats.owed += n.owed;
  }
  stats.scoreMs = Date.now() - scoring;
  return stats;
}

/** Phase 1 for one fetched batch: decode, coalesce by entity, apply, write the states (no prediction). */
async function applyBatch(
  ctx: PipelineContext,
  batch: LogBatch,
  committedNext: bigint,
): Promise<{ rejected: number }> {
  const role = ctx.roles.get(batch.topic);
  if (role === undefined)
    throw new StreamscoreError('SS_CONFIG_INVALID', `no input is configured for topic ${batch.topic}`);
  let rejected = 0;
  // a rejected record went to the DLQ when the pipeline first read it; a rebuild does not send it again
  const { records: decoded } = await decodeValid(role, batch.records, Date.now(), () => {
    rejected += 1;
  });
  let works = groupByEntity(decoded);
  for (let round = 0; works.length > 0; round++) {
    if (round >= MAX_ROUNDS)
      throw new StreamscoreError('SS_COMMIT_FAILED', 'rebuild: entities kept changing under the rebuild', {
        retriable: true,
      });
    const bases = await ctx.sink.load(works.map((w) => w.entityId));
    const writes: StateWrite[] = [];
    const written: EntityWork[] = [];
    works.forEach((w, i) => {
      const base = bases[i] as EntityState;
      const change = applyWork(base, w, ctx.fields);
      if (change.next === null) return;
      const past = w.records.some((r) => BigInt(r.offset) >= committedNext);
      const owed = past || (base.sv !== 0 && readTrigger(base).owed);
      writes.push({
        entityId: w.entityId,
        base,
        next: { ...change.next, trigger: (owed ? OWED : '') + triggerText(lastRef(w)) },
        storeProfile: change.storeProfile,
        eventsChanged: change.eventsChanged,
        prediction: null,
      });
      written.push(w);
    });
    const results = await ctx.sink.write(writes, ctx.model);
    works = written.filter((_, j) => !(results[j] as { ok: boolean }).ok);
  }
  return { rejected };
}

/** Phase 2 for a batch of entity ids: score the live ones, re-delete the deleted, settle the triggers. */
async function scoreBatch(
  shared: PipelineContext,
  ids: readonly string[],
  batchId: string,
): Promise<{ scored: number; deleted: number; owed: number }> {
  const ctx: PipelineContext = { ...shared }; // one model for the whole batch, as for a window
  const states = await ctx.sink.load(ids);
  const live: number[] = [];
  states.forEach((s, i) => {
    if (s.sv !== 0 && !s.deleted && s.profile !== null) live.push(i);
  });
  const matrix = await buildMatrixYielding(
    ctx.featureSpec,
    live.map((i) => {
      const s = states[i] as EntityState;
      return { profile: s.profile, events: s.events, asOfMs: s.clock };
    }),
  );
  // a rebuild publishes what it scores and has no guard stage: an invalid score fails it (SS_SCORE_FAILED)
  const scored =
    live.length === 0
      ? { scores: new Float32Array(0), tiers: [] as Array<string | null> }
      : requireValidScores(await ctx.scorer.score(matrix, live.length), ctx.scorer.model);
  const row = new Map(live.map((i, r) => [i, r]));
  const width = ctx.featureSpec.features.length;
  const now = Date.now();
  const writes: StateWrite[] = [];
  let deleted = 0;
  let owedCount = 0;
  states.forEach((s, i) => {
    if (s.sv === 0) return;
    const { owed, ref } = readTrigger(s);
    if (owed) owedCount += 1;
    const r = row.get(i);
    const kind = s.deleted ? 'delete' : r !== undefined ? 'upsert' : null;
    if (kind === 'delete') deleted += 1;
    const prediction: PredictionRecord | null =
      kind === null
        ? null
        : {
            entityId: ids[i] as string,
            kind,
            score: r === undefined ? null : (scored.scores[r] as number),
            tier: r === undefined ? null : (scored.tiers[r] ?? null),
            features: r === undefined ? null : matrix.slice(r * width, (r + 1) * width),
            asOfMs: s.clock,
            scoredAtMs: now,
            validUntilMs: r === undefined ? null : now + ctx.config.predictions.validForMs,
            batchId,
            trigger: parseRef(ref),
            basis: s.applied,
          };
    // a state without a prediction is owed one (as after a window's state-only write)
    const trigger = prediction === null || owed ? '' : ref;
    if (prediction === null && trigger === s.trigger) return;
    writes.push({
      entityId: ids[i] as string,
      base: s,
      next: { ...s, trigger },
      storeProfile: '',
      eventsChanged: false,
      prediction,
    });
  });
  const results = await ctx.sink.write(writes, ctx.model);
  const refused = results.filter((x) => !x.ok).length;
  if (refused > 0)
    throw new StreamscoreError(
      'SS_COMMIT_FAILED',
      `rebuild: ${refused} entities changed while they were scored; the rebuild is retried`,
      { retriable: true },
    );
  return { scored: live.length, deleted, owed: owedCount };
}
