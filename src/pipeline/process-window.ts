import { commitWindow } from '../commit/index.js';
import type { OutputBatch } from '../commit/index.js';
import type { Decoded, RawRecord } from '../decode/types.js';
import { deadLetter, predictionEvent, storedPredictionEvent } from '../emit/index.js';
import { DLQ_HEADERS } from '../emit/index.js';
import type { AuditEventV1, OutMessage, PredictionEventV1 } from '../emit/index.js';
import { RecordRejected, StreamscoreError } from '../errors/index.js';
import { buildMatrixYielding } from '../features/index.js';
import { triggerText } from '../sink/index.js';
import type { EntityState, PredictionRecord, StateWrite, StoredPrediction } from '../sink/index.js';
import { validate } from '../validate/index.js';
import { groupByEntity } from '../window/index.js';
import type { RecordRef } from '../window/index.js';
import { StageTimer, accountedFor, emptyCounts } from './accounting.js';
import { buildAudit, windowBatchId } from './audit.js';
import { countPlans, planEntity, triggerInWindow } from './plan.js';
import type { EntityPlan } from './plan.js';
import type { InputRole, PartitionContext, PipelineContext } from './types.js';

export { windowBatchId } from './audit.js';

export interface WindowResult {
  readonly batchId: string;
  readonly audit: AuditEventV1;
  readonly predictions: readonly PredictionEventV1[];
}

/** Compare-and-set rounds before a window gives up and is retried (each round follows a concurrent change). */
const MAX_WRITE_ROUNDS = 8;

function refOf(r: RawRecord): RecordRef {
  return { topic: r.topic, partition: r.partition, offset: r.offset };
}

/** What the window wrote for one entity (a prediction with the version the store gave it). */
interface Written {
  readonly plan: EntityPlan;
  readonly prediction: PredictionRecord;
  readonly version: number;
}

/**
 * One window of one input partition, stage by stage: decode → validate → coalesce by entity → plan against
 * the entities' states (cache, else one Redis read) → features → score (one ONNX run) → commit (one Redis
 * round trip for states and predictions, then one Kafka transaction with outputs and
 * offsets). Throws on anything that must not be committed; the caller then leaves the offsets where they
 * were and the window is fetched again.
 */
export async function processWindow(
  ctx: PipelineContext,
  part: PartitionContext,
  records: readonly RawRecord[],
): Promise<WindowResult> {
  const openedAt = Date.now();
  const timer = new StageTimer();
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined)
    throw new RangeError('processWindow needs at least one record');
  const { config, metrics } = ctx;
  const pipeline = config.pipeline.name;
  const batchId = windowBatchId(pipeline, records);
  const role = ctx.roles.get(first.topic);
  if (role === undefined)
    throw new StreamscoreError('SS_CONFIG_INVALID', `no input is configured for topic ${first.topic}`);

  const { decoded, dlq, counts } = await decodeWindow(ctx, role, records, batchId);
  metrics.stageSeconds.observe({ stage: 'decode' }, timer.lap('decode') / 1000);

  const work = groupByEntity(decoded);
  const bases = await ctx.sink.load(work.map((w) => w.entityId));
  const plans = work.map((w, i) => planEntity(w, bases[i] as EntityState, ctx.fields, part.committedMarker));
  const stored = await settleReemits(ctx, part, plans);
  metrics.stageSeconds.observe({ stage: 'state' }, timer.lap('state') / 1000);
  await part.heartbeat();
  // every record is in exactly one bucket before anything is written: a window that cannot account for
  // its records must not touch Redis
  checkAccounting({ ...counts, ...countPlans(plans) }, batchId);

  let written: Written[] = [];
  let events: PredictionEventV1[] = [];
  let audit: AuditEventV1 | undefined;
  const outputs = (): OutputBatch[] => {
    events = [];
    for (const { plan, prediction, version } of written)
      events.push(predictionEvent(prediction, version, ctx.model, plan.work.records, pipeline));
    for (const [i, s] of stored)
      events.push(storedPredictionEvent(s, (plans[i] as EntityPlan).work.records, pipeline));
    Object.assign(counts, countPlans(plans));
    counts.entities_scored = plans.filter((p) => p.action === 'score').length;
    counts.written_redis = written.length;
    counts.emitted = events.length;
    checkAccounting(counts, batchId);
    timer.lap('redis-write');
    audit = buildAudit({
      batchId,
      pipeline,
      instance: ctx.instance,
      model: ctx.model,
      records,
      counts,
      events,
      openedAt,
      closedAt: Date.now(),
      stageMs: timer.stages,
    });
    return [
      {
        topic: config.outputs.predictions,
        messages: events.map((e) => ({ key: e.entity_id, value: ctx.predictionEncoder.encode(e) })),
      },
      { topic: config.outputs.dlq, messages: dlq },
      { topic: config.outputs.audit, messages: [{ key: batchId, value: ctx.auditEncoder.encode(audit) }] },
    ];
  };

  await commitWindow({
    writeRedis: async () => {
      written = await writeStates(ctx, part, plans, stored, batchId, timer);
    },
    outputs,
    producer: part.producer,
    groupId: config.consumer.groupId,
    input: part.tp,
    nextOffset: (BigInt(last.offset) + 1n).toString(),
    markCommitted: () => part.markCommitted(BigInt(last.offset)),
    ...(ctx.crashPoint === undefined ? {} : { crashPoint: ctx.crashPoint }),
  });
  metrics.stageSeconds.observe({ stage: 'commit' }, timer.lap('commit') / 1000);
  ctx.gate.committed(`${first.topic}/${first.partition}`, records.length, counts.invalid);
  const finalAudit = audit as unknown as AuditEventV1;
  metrics.windowRecords.observe(records.length);
  metrics.inputAge.set(
    { topic: first.topic, partition: String(first.partition) },
    Math.max(0, Date.now() - Number(first.timestamp)) / 1000,
  );
  metrics.windowBytes.observe(records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0));
  metrics.windows.inc({ outcome: 'committed' });
  for (const [outcome, n] of Object.entries(finalAudit.counts)) {
    if (n > 0 && outcome !== 'received')
      metrics.records.inc({ stage: 'window', topic: first.topic, outcome }, n);
  }
  if (ctx.logger.isLevelEnabled('debug')) {
    ctx.logger.debug(
      {
        batchId,
        counts: finalAudit.counts,
        stageMs: { ...timer.stages },
        // how long the window's oldest record waited in Kafka before this window opened (producer timestamp)
        oldestWaitMs: Math.max(0, openedAt - Number(first.timestamp)),
        openMs: Date.now() - openedAt,
      },
      'window committed',
    );
  }
  return { batchId, audit: finalAudit, predictions: events };
}

/** Decode + validate: a poison record is a signal, it goes to the DLQ and the window moves on. */
async function decodeWindow(
  ctx: PipelineContext,
  role: InputRole,
  records: readonly RawRecord[],
  batchId: string,
) {
  const { config, metrics } = ctx;
  const counts = emptyCounts();
  counts.received = records.length;
  const dlq: OutMessage[] = [];
  const decoded: Array<{ ref: RecordRef; decoded: Decoded }> = [];
  await role.decoder.prepare(records);
  const now = Date.now();
  for (const raw of records) {
    try {
      const d = role.decoder.decodeSync(raw);
      const verdict = validate(d, raw, role, now);
      counts.decoded += 1;
      if (verdict === 'skip') {
        counts.skipped += 1;
        continue;
      }
      decoded.push({ ref: refOf(raw), decoded: d });
    } catch (err) {
      if (!(err instanceof RecordRejected)) throw err;
      counts.invalid += 1;
      dlq.push(deadLetter(raw, err, batchId, config.pipeline.name));
      metrics.records.inc({ stage: 'decode', topic: raw.topic, outcome: 'dlq' });
    }
  }
  gateWindow(ctx, records, counts.invalid, dlq);
  return { decoded, dlq, counts };
}

/** Counts of dead-letter reasons, most frequent first: `SS_X ×3, SS_Y ×1`. */
function topReasons(dlq: readonly OutMessage[], n = 3): string {
  const byCode = new Map<string, number>();
  for (const m of dlq) {
    const code = String(m.headers?.[DLQ_HEADERS.code] ?? '?');
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }
  return [...byCode]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([code, k]) => `${code} ×${k}`)
    .join(', ');
}

/**
 * The batch-level gate (validate/gate.ts): when the window, or the partition's rolling horizon with it,
 * rejects more than dlq.floodRatio, the upstream is broken rather than a few records bad. Policy `halt`
 * throws SS_DLQ_FLOOD before anything is written (the pipeline holds); `dlq` logs and lets the window on.
 */
function gateWindow(
  ctx: PipelineContext,
  records: readonly RawRecord[],
  invalid: number,
  dlq: readonly OutMessage[],
): void {
  const first = records[0] as RawRecord;
  const last = records[records.length - 1] as RawRecord;
  const key = `${first.topic}/${first.partition}`;
  const trip = ctx.gate.assess(key, records.length, invalid);
  if (trip === null) return;
  const { config } = ctx;
  ctx.metrics.gateTrips.inc({ scope: trip.scope, policy: config.dlq.policy });
  const where =
    trip.scope === 'window'
      ? `of the window at offsets ${first.offset}-${last.offset}`
      : `of its last ${trip.records} (up to offset ${last.offset})`;
  const message = `${trip.rejected} of ${trip.records} records of ${key} ${where} were rejected (limit ${config.dlq.floodRatio * 100}%; reasons in this window: ${topReasons(dlq) || 'none'})`;
  if (config.dlq.policy === 'dlq') {
    ctx.logger.warn({ partition: key, ...trip }, `${message}; dlq.policy=dlq: they go to the DLQ`);
    return;
  }
  throw new StreamscoreError(
    'SS_DLQ_FLOOD',
    `${message}: holding the pipeline instead of emptying the topic into the DLQ`,
    {
      position: refOf(first),
      details: { scope: trip.scope, rejected: trip.rejected, records: trip.records },
    },
  );
}

function checkAccounting(c: ReturnType<typeof emptyCounts>, batchId: string): void {
  if (!accountedFor(c)) {
    throw new StreamscoreError(
      'SS_COMMIT_FAILED',
      `window ${batchId} does not account for every record: ${JSON.stringify(c)}`,
    );
  }
}

/**
 * Re-emitting is for the retry of a window that never committed: the stored prediction must come from a
 * record of this window past the committed offset. Before trusting the in-memory marker, ask the broker:
 * a commit whose acknowledgement was lost must not be emitted twice. Candidates that fail a check become
 * `unchanged` (in place); returns the stored predictions to emit, by plan index.
 */
async function settleReemits(
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
async function writeStates(
  ctx: PipelineContext,
  part: PartitionContext,
  plans: EntityPlan[],
  stored: Map<number, StoredPrediction>,
  batchId: string,
  timer: StageTimer,
): Promise<Written[]> {
  const { config, metrics } = ctx;
  const written: Written[] = [];
  let pending = plans.flatMap((p, i) => (WRITES.has(p.action) ? [i] : []));
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_WRITE_ROUNDS)
      throw new StreamscoreError(
        'SS_COMMIT_FAILED',
        `window ${batchId}: ${pending.length} entities changed concurrently in ${MAX_WRITE_ROUNDS} rounds; the window is retried`,
        { retriable: true },
      );
    const toScore = pending.filter((i) => plans[i]?.action === 'score');
    const matrix = await buildMatrixYielding(
      ctx.featureSpec,
      toScore.map((i) => {
        const s = (plans[i] as EntityPlan).state;
        return { profile: s.profile, events: s.events, asOfMs: s.clock };
      }),
    );
    metrics.stageSeconds.observe({ stage: 'features' }, timer.lap('features') / 1000);
    const scored =
      toScore.length === 0
        ? { scores: new Float32Array(0), tiers: [] as Array<string | null> }
        : await ctx.scorer.score(matrix, toScore.length);
    metrics.stageSeconds.observe({ stage: 'score' }, timer.lap('score') / 1000);
    await part.heartbeat();

    const scoredAt = Date.now();
    const width = ctx.featureSpec.features.length;
    const row = new Map(toScore.map((i, r) => [i, r]));
    const writes: StateWrite[] = [];
    const predictions: Array<PredictionRecord | null> = [];
    for (const i of pending) {
      const p = plans[i] as EntityPlan;
      const trigger = p.work.records[p.work.records.length - 1] as RecordRef;
      const r = row.get(i);
      const prediction: PredictionRecord | null =
        p.action === 'state'
          ? null
          : {
              entityId: p.work.entityId,
              kind: p.action === 'score' ? 'upsert' : 'delete',
              score: r === undefined ? null : (scored.scores[r] as number),
              tier: r === undefined ? null : (scored.tiers[r] ?? null),
              features: r === undefined ? null : matrix.slice(r * width, (r + 1) * width),
              asOfMs: p.state.clock,
              scoredAtMs: scoredAt,
              validUntilMs: r === undefined ? null : scoredAt + config.predictions.validForMs,
              batchId,
              trigger,
            };
      predictions.push(prediction);
      writes.push({
        entityId: p.work.entityId,
        base: p.base,
        next: { ...p.state, trigger: prediction === null ? '' : triggerText(trigger) },
        storeProfile: p.change.storeProfile,
        eventsChanged: p.change.eventsChanged,
        prediction,
      });
    }
    const results = await ctx.sink.write(writes, ctx.model);
    const again: number[] = [];
    results.forEach((res, j) => {
      const i = pending[j] as number;
      const p = plans[i] as EntityPlan;
      if (res.ok) {
        const prediction = predictions[j];
        if (prediction !== null && prediction !== undefined)
          written.push({ plan: p, prediction, version: res.version });
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
  return written;
}
