/**
 * `streamscore verify`: shows again what a committed window did, from what Kafka and the model files hold.
 * For each audited window (batch):
 *  - inputs: the records at the audited offsets are read again (read_committed, as the pipeline read them)
 *    and hashed as the audit hashed them; the hash and the record count must match;
 *  - scores: every prediction event of the batch is scored again from its recorded feature vector with
 *    the model whose sha256 it records (found among the model files by that hash); the float32 score must
 *    be the same bit for bit (the exported graphs compute each row alone, so batch size cannot change it);
 *  - Redis: where an entity's current prediction is still the batch's (same version), its stored score
 *    and vector must equal the event's.
 * A batch of `rescore` or `timers` (stored states scored again) has no input records: its scores and Redis
 * entries are checked the same way.
 * `--deep` (verify-deep.ts) also rebuilds, from the input log, the feature state behind each vector.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { KafkaClient } from '../adapters/kafka.js';
import { readToEnd, replayLog } from '../adapters/kafka-replay.js';
import type { RawRecord } from '../decode/types.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { loadModel } from '../models/index.js';
import { inputHash } from '../pipeline/audit.js';
import { createScorer } from '../score/index.js';
import type { Scorer } from '../score/index.js';

export interface BatchVerdict {
  readonly batchId: string;
  readonly records: number;
  readonly predictions: number;
  readonly redisChecked: number;
  /** Empty when the batch verifies. */
  readonly problems: readonly string[];
}

export interface VerifyDeps {
  readonly kafka: KafkaClient;
  readonly readAudit: (value: Buffer) => Promise<AuditEventV1>;
  readonly readPrediction: (value: Buffer) => Promise<PredictionEventV1>;
  /** The entity's current prediction in Redis (version, score, vector), or null. */
  readonly stored: (
    entityId: string,
  ) => Promise<{ version: number; score: number; features: readonly number[] } | null>;
  readonly modelDir: string;
  readonly modelName: string;
  readonly onProgress?: (what: string, done: number, total: number) => void;
}

/** Every audit event on the topic (committed windows), oldest first per partition. */
export async function readAudits(deps: VerifyDeps, topic: string): Promise<AuditEventV1[]> {
  const log = await readToEnd(deps.kafka, topic, `streamscore-verify-${randomUUID()}`, {
    onProgress: (p, t) => deps.onProgress?.(`reading ${topic}`, Number(p), Number(t)),
  });
  const out: AuditEventV1[] = [];
  for (const r of log.records) if (r.value !== null) out.push(await deps.readAudit(r.value));
  return out;
}

/** The prediction events of the given batches, by batch id, each with where it is on the topic. */
export async function predictionsOf(
  deps: VerifyDeps,
  topic: string,
  batchIds: ReadonlySet<string>,
): Promise<Map<string, Array<{ at: string; event: PredictionEventV1 }>>> {
  const log = await readToEnd(deps.kafka, topic, `streamscore-verify-${randomUUID()}`, {
    onProgress: (p, t) => deps.onProgress?.(`reading ${topic}`, Number(p), Number(t)),
  });
  const out = new Map<string, Array<{ at: string; event: PredictionEventV1 }>>();
  for (const r of log.records) {
    if (r.value === null) continue;
    const event = await deps.readPrediction(r.value);
    if (!batchIds.has(event.batch_id)) continue;
    const list = out.get(event.batch_id) ?? [];
    list.push({ at: `${r.partition}@${r.offset}`, event });
    out.set(event.batch_id, list);
  }
  return out;
}

/** The records of one audited window, read again at its offsets. */
async function windowRecords(kafka: KafkaClient, audit: AuditEventV1): Promise<RawRecord[]> {
  const ends = new Map<string, { low: bigint; high: bigint }>();
  const from = new Map<string, bigint>();
  for (const r of audit.inputs) {
    const k = `${r.topic}/${r.partition}`;
    ends.set(k, { low: BigInt(r.first_offset), high: BigInt(r.last_offset) + 1n });
    from.set(k, BigInt(r.first_offset));
  }
  const records: RawRecord[] = [];
  await replayLog(kafka, {
    topics: [...new Set(audit.inputs.map((r) => r.topic))],
    ends,
    from,
    groupId: `streamscore-verify-${randomUUID()}`,
    fetchMaxBytes: 8 << 20,
    onBatch: async (b) => {
      records.push(...b.records);
    },
  });
  return records;
}

/** The models under `<dir>/<name>/`, keyed by the sha256 of their model.onnx (loaded when first asked). */
export class ModelsBySha {
  readonly #scorers = new Map<string, Scorer>();
  #scanned = false;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {}

  async get(sha256: string): Promise<Scorer | null> {
    if (!this.#scanned) {
      this.#scanned = true;
      const versions = await readdir(join(this.dir, this.name)).catch(() => [] as string[]);
      for (const v of versions) {
        const loaded = await loadModel(this.dir, this.name, v).catch(() => null);
        if (loaded === null) continue;
        const scorer = createScorer(loaded);
        if (this.#scorers.has(scorer.model.sha256)) await scorer.close();
        else this.#scorers.set(scorer.model.sha256, scorer);
      }
    }
    return this.#scorers.get(sha256) ?? null;
  }

  async close(): Promise<void> {
    for (const s of this.#scorers.values()) await s.close();
  }
}

const float32 = (x: number) => Math.fround(x);

function sameVector(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => float32(x) === float32(b[i] as number));
}

/** Verifies one audited window against its predictions (see the module comment). */
export async function verifyBatch(
  deps: VerifyDeps,
  audit: AuditEventV1,
  predictions: ReadonlyArray<{ at: string; event: PredictionEventV1 }>,
  models: ModelsBySha,
): Promise<BatchVerdict> {
  const problems: string[] = [];
  const range = audit.inputs
    .map((r) => `${r.topic}/${r.partition} ${r.first_offset}..${r.last_offset}`)
    .join(', ');

  // a chunk of `rescore` or `timers` scored stored states: no input records to read again
  const records = audit.inputs.length === 0 ? [] : await windowRecords(deps.kafka, audit);
  if (records.length !== audit.counts.received)
    problems.push(
      `inputs ${range}: ${records.length} records there now, the audit received ${audit.counts.received} (deleted, compacted away or rewritten)`,
    );
  const hash = inputHash(records);
  if (hash !== audit.input_sha256)
    problems.push(`inputs ${range}: sha256 ${hash} now, the audit recorded ${audit.input_sha256}`);

  const upserts = predictions.filter((p) => p.event.event_type === 'UPSERT' && p.event.score !== null);
  const byModel = new Map<string, typeof upserts>();
  for (const p of upserts) {
    const list = byModel.get(p.event.model.sha256) ?? [];
    list.push(p);
    byModel.set(p.event.model.sha256, list);
  }
  for (const [sha, list] of byModel) {
    const scorer = await models.get(sha);
    if (scorer === null) {
      problems.push(
        `model sha256 ${sha} (${list.length} predictions): no model file under ${deps.modelDir}/${deps.modelName} has it`,
      );
      continue;
    }
    const width = scorer.model.width;
    const matrix = new Float32Array(list.length * width);
    let rows = 0;
    const scored: typeof list = [];
    for (const p of list) {
      if (p.event.features.length !== width) {
        problems.push(
          `prediction ${p.event.entity_id} v${p.event.version} at ${p.at}: ${p.event.features.length} features recorded, model ${scorer.model.version} reads ${width}`,
        );
        continue;
      }
      matrix.set(p.event.features, rows * width);
      rows++;
      scored.push(p);
    }
    const { scores } = await scorer.score(matrix.subarray(0, rows * width), rows);
    scored.forEach((p, i) => {
      const again = scores[i] as number;
      const recorded = p.event.score as number;
      if (float32(recorded) !== again || Number.isNaN(again))
        problems.push(
          `prediction ${p.event.entity_id} v${p.event.version} at ${p.at}: score ${recorded} recorded, model ${scorer.model.version} (sha256 ${sha.slice(0, 12)}…) gives ${again} for its recorded vector`,
        );
    });
  }

  let redisChecked = 0;
  for (const p of upserts) {
    const s = await deps.stored(p.event.entity_id);
    if (s === null || s.version !== Number(p.event.version)) continue; // superseded (or deleted) since
    redisChecked++;
    if (float32(s.score) !== float32(p.event.score as number))
      problems.push(
        `Redis ${p.event.entity_id} v${s.version}: score ${s.score} stored, the batch's event says ${p.event.score}`,
      );
    if (!sameVector(s.features, p.event.features))
      problems.push(
        `Redis ${p.event.entity_id} v${s.version}: the stored feature vector differs from the event's`,
      );
  }
  return {
    batchId: audit.batch_id,
    records: records.length,
    predictions: predictions.length,
    redisChecked,
    problems,
  };
}
