import { createHash } from 'node:crypto';
import { commitWindow } from '../commit/index.js';
import type { OutputBatch } from '../commit/index.js';
import type { Decoded, RawRecord } from '../decode/types.js';
import { deadLetter, predictionEvent, storedPredictionEvent } from '../emit/index.js';
import type { AuditEventV1, OutMessage, PredictionEventV1 } from '../emit/index.js';
import { RecordRejected, StreamscoreError } from '../errors/index.js';
import { validate } from '../validate/index.js';
import { buildMatrixYielding } from '../features/index.js';
import type { AppliedState, PredictionRecord } from '../sink/index.js';
import { groupByEntity } from '../window/index.js';
import type { EntityWork, RecordRef } from '../window/index.js';
import { StageTimer, accountedFor, emptyCounts } from './accounting.js';
import type { PartitionContext, PipelineContext } from './types.js';

export interface WindowResult {
  readonly batchId: string;
  readonly audit: AuditEventV1;
  readonly predictions: readonly PredictionEventV1[];
}

function inputHash(records: readonly RawRecord[]): string {
  const h = createHash('sha256');
  const len = Buffer.alloc(4);
  for (const r of records) {
    // length-prefixed so (key, value) boundaries are unambiguous; -1 marks null
    for (const part of [r.key, r.value]) {
      len.writeInt32BE(part === null ? -1 : part.length, 0);
      h.update(len);
      if (part !== null) h.update(part);
    }
  }
  return h.digest('hex');
}

/** Deterministic: a window retried with the same records gets the same id. */
export function windowBatchId(pipeline: string, records: readonly RawRecord[]): string {
  const first = records[0];
  const last = records[records.length - 1];
  return `${pipeline}:${first?.topic}:${first?.partition}:${first?.offset}-${last?.offset}`;
}

function refOf(r: RawRecord): RecordRef {
  return { topic: r.topic, partition: r.partition, offset: r.offset };
}

/**
 * One window of one input partition, stage by stage: decode → validate → coalesce by entity → apply to
 * feature state (Redis round trip 1) → features → score (one ONNX run) → commit (Redis round trip 2, then
 * one Kafka transaction with outputs and offsets). Throws on anything that must not be committed; the
 * caller then leaves the offsets where they were and the window is fetched again.
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
  const { config, logger, metrics } = ctx;
  const pipeline = config.pipeline.name;
  const batchId = windowBatchId(pipeline, records);
  const role = ctx.roles.get(first.topic);
  if (role === undefined)
    throw new StreamscoreError('SS_CONFIG_INVALID', `no input is configured for topic ${first.topic}`);
  const counts = emptyCounts();
  counts.received = records.length;
  const dlq: OutMessage[] = [];
  const decoded: Array<{ ref: RecordRef; decoded: Decoded }> = [];

  // decode + validate: a poison record is a signal, it goes to the DLQ and the window moves on
  await role.decoder.prepare(records);
  for (const raw of records) {
    try {
      const d = role.decoder.decodeSync(raw);
      const verdict = validate(d, role);
      counts.decoded += 1;
      if (verdict === 'skip') {
        counts.skipped += 1;
        continue;
      }
      decoded.push({ ref: refOf(raw), decoded: d });
    } catch (err) {
      if (!(err instanceof RecordRejected)) throw err;
      counts.invalid += 1;
      dlq.push(deadLetter(raw, err, batchId, pipeline));
      metrics.records.inc({ stage: 'decode', topic: raw.topic, outcome: 'dlq' });
    }
  }
  metrics.stageSeconds.observe({ stage: 'decode' }, timer.lap('decode') / 1000);
  if (
    counts.received >= config.dlq.floodMinRecords &&
    counts.invalid / counts.received > config.dlq.floodRatio
  ) {
    throw new StreamscoreError(
      'SS_DLQ_FLOOD',
      `${counts.invalid} of ${counts.received} records of ${first.topic}/${first.partition} offsets ${first.offset}-${last.offset} were rejected (limit ${config.dlq.floodRatio * 100}%): halting instead of emptying the topic into the DLQ`,
      { position: refOf(first) },
    );
  }

  const work = groupByEntity(decoded);
  const states = work.length === 0 ? [] : await ctx.sink.apply(work);
  metrics.stageSeconds.observe({ stage: 'state' }, timer.lap('state') / 1000);
  await part.heartbeat();

  // decide per entity: score, delete, re-emit (retry of an uncommitted window) or nothing
  const toScore: Array<{ w: EntityWork; s: AppliedState }> = [];
  const deletes: Array<{ w: EntityWork; s: AppliedState }> = [];
  const reemit: Array<{ w: EntityWork; s: AppliedState }> = [];
  work.forEach((w, i) => {
    const s = states[i] as AppliedState;
    counts.coalesced += w.records.length - 1;
    if (s.stateVersion > s.predictionVersion) {
      if (s.deleted) deletes.push({ w, s });
      else if (s.profile !== null) toScore.push({ w, s });
      else counts.no_profile += 1;
      return;
    }
    const stored = s.storedPrediction;
    const inWindow =
      stored !== null &&
      w.records.some(
        (r) =>
          r.topic === stored.trigger_topic &&
          String(r.partition) === stored.trigger_partition &&
          r.offset === stored.trigger_offset,
      );
    if (stored !== null && inWindow && BigInt(stored.trigger_offset ?? '0') > part.committedMarker)
      reemit.push({ w, s });
    else counts.unchanged += 1;
  });

  // Re-emitting is for the retry of a window that never committed. Before trusting the in-memory marker,
  // ask the broker: a commit whose acknowledgement was lost must not be emitted twice.
  if (reemit.length > 0) {
    const marker = await part.refreshMarker();
    for (let i = reemit.length - 1; i >= 0; i--) {
      const r = reemit[i] as { w: EntityWork; s: AppliedState };
      if (BigInt(r.s.storedPrediction?.trigger_offset ?? '0') <= marker) {
        reemit.splice(i, 1);
        counts.unchanged += 1;
      }
    }
  }

  const inputs = toScore.map(({ s }) => ({ profile: s.profile, events: s.events, asOfMs: s.asOfMs }));
  const matrix = await buildMatrixYielding(ctx.featureSpec, inputs);
  metrics.stageSeconds.observe({ stage: 'features' }, timer.lap('features') / 1000);
  const scored =
    toScore.length === 0
      ? { scores: new Float32Array(0), tiers: [] }
      : await ctx.scorer.score(matrix, toScore.length);
  metrics.stageSeconds.observe({ stage: 'score' }, timer.lap('score') / 1000);
  await part.heartbeat();

  const scoredAt = Date.now();
  const width = ctx.featureSpec.features.length;
  const triggerOf = (w: EntityWork) => w.records[w.records.length - 1] as RecordRef;
  const predictions: PredictionRecord[] = [
    ...toScore.map(({ w, s }, i) => ({
      entityId: w.entityId,
      kind: 'upsert' as const,
      version: s.stateVersion,
      score: scored.scores[i] as number,
      tier: scored.tiers[i] ?? null,
      features: matrix.slice(i * width, (i + 1) * width),
      asOfMs: s.asOfMs,
      scoredAtMs: scoredAt,
      validUntilMs: scoredAt + config.predictions.validForMs,
      batchId,
      trigger: triggerOf(w),
    })),
    ...deletes.map(({ w, s }) => ({
      entityId: w.entityId,
      kind: 'delete' as const,
      version: s.stateVersion,
      score: null,
      tier: null,
      features: null,
      asOfMs: s.asOfMs,
      scoredAtMs: scoredAt,
      validUntilMs: null,
      batchId,
      trigger: triggerOf(w),
    })),
  ];
  const owners = [...toScore, ...deletes].map(({ w }) => w);
  counts.entities_scored = toScore.length;

  let emittedEvents: PredictionEventV1[] = [];
  let audit: AuditEventV1 | undefined;
  // Every record is in exactly one bucket before anything is written: a window that cannot account for
  // its records must not touch Redis.
  counts.scored = toScore.length + reemit.length;
  counts.deleted = deletes.length;
  if (!accountedFor(counts)) {
    throw new StreamscoreError(
      'SS_COMMIT_FAILED',
      `window ${batchId} does not account for every record: ${JSON.stringify(counts)}`,
    );
  }

  const outputs = (written: readonly boolean[]): OutputBatch[] => {
    emittedEvents = [];
    written.forEach((ok, i) => {
      const p = predictions[i] as PredictionRecord;
      const w = owners[i] as EntityWork;
      if (ok) emittedEvents.push(predictionEvent(p, ctx.model, w.records, pipeline));
    });
    for (const { w, s } of reemit) {
      emittedEvents.push(storedPredictionEvent(s.storedPrediction ?? {}, w.records, pipeline));
    }
    counts.written_redis = written.filter(Boolean).length;
    counts.emitted = emittedEvents.length;
    const asOf = emittedEvents.reduce<number | null>(
      (m, e) => (m === null || e.as_of > m ? e.as_of : m),
      null,
    );
    timer.lap('redis-write');
    audit = {
      schema_version: 1,
      batch_id: batchId,
      pipeline,
      instance: ctx.instance,
      model: { name: ctx.model.name, version: ctx.model.version, sha256: ctx.model.sha256 },
      inputs: [
        {
          topic: first.topic,
          partition: first.partition,
          first_offset: Number(first.offset),
          last_offset: Number(last.offset),
        },
      ],
      counts: { ...counts },
      input_sha256: inputHash(records),
      opened_at: openedAt,
      closed_at: Date.now(),
      as_of: asOf,
      stage_ms: { ...timer.stages },
      outcome: 'COMMITTED',
    };
    return [
      {
        topic: config.outputs.predictions,
        messages: emittedEvents.map((e) => ({ key: e.entity_id, value: ctx.predictionEncoder.encode(e) })),
      },
      { topic: config.outputs.dlq, messages: dlq },
      { topic: config.outputs.audit, messages: [{ key: batchId, value: ctx.auditEncoder.encode(audit) }] },
    ];
  };

  const nextOffset = (BigInt(last.offset) + 1n).toString();
  await commitWindow({
    sink: ctx.sink,
    predictions,
    model: ctx.model,
    outputs,
    producer: part.producer,
    groupId: config.consumer.groupId,
    input: part.tp,
    nextOffset,
    markCommitted: () => {
      part.committedHere = BigInt(last.offset);
      return part.markCommitted(BigInt(last.offset));
    },
    logger,
    ...(ctx.crashPoint === undefined ? {} : { crashPoint: ctx.crashPoint }),
  });
  metrics.stageSeconds.observe({ stage: 'commit' }, timer.lap('commit') / 1000);
  const finalAudit = audit as unknown as AuditEventV1;
  metrics.windowRecords.observe(records.length);
  metrics.windowBytes.observe(records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0));
  metrics.windows.inc({ outcome: 'committed' });
  for (const [outcome, n] of Object.entries(finalAudit.counts)) {
    if (n > 0 && outcome !== 'received')
      metrics.records.inc({ stage: 'window', topic: first.topic, outcome }, n);
  }
  logger.debug(
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
  return { batchId, audit: finalAudit, predictions: emittedEvents };
}
