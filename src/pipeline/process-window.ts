import { commitWindow } from '../commit/index.js';
import type { OutputBatch } from '../commit/index.js';
import type { RawRecord } from '../decode/types.js';
import {
  DLQ_HEADERS,
  deadLetter,
  predictionEvent,
  quarantinedPrediction,
  storedPredictionEvent,
} from '../emit/index.js';
import type { AuditEventV1, OutMessage } from '../emit/index.js';
import { StreamscoreError } from '../errors/index.js';
import type { EntityState } from '../sink/index.js';
import { groupByEntity } from '../window/index.js';
import type { RecordRef } from '../window/index.js';
import { StageTimer, accountedFor, emptyCounts } from './accounting.js';
import { buildAudit, windowBatchId } from './audit.js';
import { countPlans, planEntity } from './plan.js';
import { decodeValid } from './roles.js';
import type { EntityPlan } from './plan.js';
import type { InputRole, PartitionContext, PipelineContext } from './types.js';
import { settleReemits, writeStates } from './write-window.js';
import type { WindowWrites } from './write-window.js';

export { windowBatchId } from './audit.js';

export interface WindowResult {
  readonly batchId: string;
  readonly audit: AuditEventV1;
}

function refOf(r: RawRecord): RecordRef {
  return { topic: r.topic, partition: r.partition, offset: r.offset };
}

/**
 * One window of one input partition, stage by stage: decode → validate → coalesce by entity → plan against
 * the entities' states (cache, else one Redis read) → features → score (one ONNX run) → commit (one Redis
 * round trip for states and predictions, then one Kafka transaction with outputs and
 * offsets). Throws on anything that must not be committed; the caller then leaves the offsets where they
 * were and the window is fetched again. `heartbeat` is the fetched batch's group heartbeat, sent between
 * the long steps; it is an argument, never stored: kafkajs's closure holds the whole fetched batch.
 */
export async function processWindow(
  shared: PipelineContext,
  part: PartitionContext,
  records: readonly RawRecord[],
  heartbeat: () => Promise<void>,
): Promise<WindowResult> {
  // the model (scorer, spec, stamp, drift) as of now, for the whole window: a promotion applied while it
  // runs is for the partition's next window
  const ctx: PipelineContext = { ...shared };
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
  await heartbeat();
  // every record is in exactly one bucket before anything is written: a window that cannot account for
  // its records must not touch Redis
  checkAccounting({ ...counts, ...countPlans(plans) }, batchId);

  let writes: WindowWrites = {
    written: [],
    quarantined: [],
    quarantineReason: null,
    drift: null,
    challenger: null,
  };
  let audit: AuditEventV1 | undefined;
  const outputs = (): OutputBatch[] => {
    // each event is written as bytes straight from its prediction: only the bytes wait for the transaction
    const predictions: OutMessage[] = [];
    let asOf: number | null = null;
    const { written, quarantined, quarantineReason } = writes;
    for (const { plan, prediction, version } of written) {
      if (asOf === null || prediction.asOfMs > asOf) asOf = prediction.asOfMs;
      const value = ctx.predictionWriter.encode(prediction, version, ctx.model, plan.work.records, pipeline);
      predictions.push({ key: prediction.entityId, value });
    }
    for (const [i, s] of stored) {
      const e = storedPredictionEvent(s, (plans[i] as EntityPlan).work.records, pipeline);
      if (asOf === null || e.as_of > asOf) asOf = e.as_of;
      predictions.push({ key: e.entity_id, value: ctx.predictionEncoder.encode(e) });
    }
    Object.assign(counts, countPlans(plans));
    counts.entities_scored = plans.filter((p) => p.action === 'score').length;
    counts.written_redis = written.length;
    counts.emitted = predictions.length;
    checkAccounting(counts, batchId);
    timer.lap('redis-write');
    audit = buildAudit({
      batchId,
      pipeline,
      instance: ctx.instance,
      model: ctx.model,
      records,
      counts,
      asOf,
      openedAt,
      closedAt: Date.now(),
      stageMs: timer.stages,
      quarantineReason,
      drift: writes.drift,
      challenger:
        ctx.challenger === null || writes.challenger === null
          ? null
          : {
              version: ctx.challenger.model.stamp.version,
              sha256: ctx.challenger.model.stamp.sha256,
              ...writes.challenger,
            },
    });
    const held = quarantined.map((q) =>
      quarantinedPrediction(q.prediction, ctx.model, q.plan.work.records, pipeline, quarantineReason ?? ''),
    );
    return [
      { topic: config.outputs.predictions, messages: predictions },
      { topic: config.outputs.dlq, messages: dlq },
      { topic: config.outputs.quarantine, messages: held },
      ...shadowOutputs(ctx, written, pipeline),
      { topic: config.outputs.audit, messages: [{ key: batchId, value: ctx.auditEncoder.encode(audit) }] },
    ];
  };

  await commitWindow({
    writeRedis: async () => {
      writes = await writeStates(ctx, part, plans, stored, { batchId, timer, heartbeat });
    },
    outputs,
    producer: part.producer,
    groupId: config.consumer.groupId,
    input: part.tp,
    nextOffset: (BigInt(last.offset) + 1n).toString(),
    markCommitted: () => part.markCommitted(BigInt(last.offset)),
    phaseTimed: (phase, ms) => metrics.transactionPhaseSeconds.observe({ phase }, ms / 1000),
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
  const quarantined = finalAudit.quarantine_reason !== null;
  metrics.windows.inc({ outcome: quarantined ? 'quarantined' : 'committed' });
  if (quarantined)
    ctx.logger.warn(
      { batchId, reason: finalAudit.quarantine_reason, quarantined: writes.quarantined.length },
      'window quarantined by the output guard: its predictions went to the quarantine topic, Redis keeps the last good ones',
    );
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
  return { batchId, audit: finalAudit };
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
  const result = await decodeValid(role, records, Date.now(), (raw, err) => {
    counts.invalid += 1;
    dlq.push(deadLetter(raw, err, batchId, config.pipeline.name));
    metrics.records.inc({ stage: 'decode', topic: raw.topic, outcome: 'dlq' });
  });
  counts.decoded += result.decoded;
  counts.skipped += result.skipped;
  const decoded = result.records;
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

/** The challenger's events (model.challenger): one per champion prediction, same entity and version. */
function shadowOutputs(
  ctx: PipelineContext,
  written: WindowWrites['written'],
  pipeline: string,
): OutputBatch[] {
  const ch = ctx.challenger;
  if (ch === null) return [];
  const messages = written.map((w) => {
    const e = predictionEvent(
      w.shadow ?? w.prediction,
      w.version,
      ch.model.stamp,
      w.plan.work.records,
      pipeline,
    );
    return { key: e.entity_id, value: ch.encoder.encode(e) };
  });
  return [{ topic: ctx.config.outputs.shadow, messages }];
}
