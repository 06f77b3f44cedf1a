/**
 * The oracle: from the generated logical stream alone — no windows, no Redis, no Kafka — what the
 * pipeline's end state must be. It knows the contract, not the implementation:
 *  - a customer's profile is the `after` of its change with the highest LSN; a delete as highest LSN means
 *    the customer is gone (redeliveries and stale resends change nothing);
 *  - events count once per txn_id; the prediction's as-of time is the latest event time of everything the
 *    entity received (the change's source.ts_ms, the events' event_time), and only data at or before it
 *    enters the features;
 *  - customers never inserted have no prediction.
 * Independent of the code under test: vectors come from oracle-features.ts (the spec in model.json read as
 * data), scores from oracle-score.ts (the weights in model.onnx); nothing of src/features, src/models or
 * src/score is called. test/unit/oracle.test.ts holds production to these values.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureSpec } from '../../src/features/types.js';
import type { SampleStream } from '../../src/sample/index.js';
import { oracleVector } from './oracle-features.js';
import type { OracleEvent, OracleProfile } from './oracle-features.js';
import { logit, readLogisticOnnx, sigmoidScores } from './oracle-score.js';

export interface ExpectedPrediction {
  readonly entityId: string;
  readonly deleted: boolean;
  readonly asOfMs: number;
  readonly features: Float32Array | null;
  readonly score: number | null;
}

/** What one entity's prediction is computed from, per the contract above. */
export interface EntityInput {
  readonly entityId: string;
  readonly deleted: boolean;
  readonly asOfMs: number;
  readonly profile: OracleProfile;
  readonly events: readonly OracleEvent[];
}

/** Where the model is: `<dir>/<name>/<version>/model.{json,onnx}`. */
export interface ModelFiles {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
}

/** Every customer the CDC stream has ever inserted, with its final profile (or deletion) and its events. */
export function entityInputs(stream: SampleStream): EntityInput[] {
  const latest = new Map<string, { lsn: number; deleted: boolean; profile: OracleProfile; tsMs: number }>();
  for (const r of stream.cdc) {
    if (r.value === null) continue;
    const id = String(r.key.id);
    const cur = latest.get(id);
    if (cur !== undefined && r.value.source.lsn <= cur.lsn) continue;
    latest.set(id, {
      lsn: r.value.source.lsn,
      deleted: r.value.op === 'd',
      profile: r.value.after === null ? null : Object.fromEntries(Object.entries(r.value.after)),
      tsMs: r.value.source.ts_ms,
    });
  }
  const events = new Map<string, Map<string, OracleEvent>>();
  for (const r of stream.transactions) {
    let m = events.get(r.key);
    if (m === undefined) events.set(r.key, (m = new Map()));
    if (!m.has(r.value.txn_id)) {
      m.set(r.value.txn_id, {
        txnId: r.value.txn_id,
        eventTimeMs: r.value.event_time,
        fields: { ...r.value },
      });
    }
  }
  return [...latest].map(([entityId, row]) => {
    const evs = [...(events.get(entityId)?.values() ?? [])];
    const asOfMs = Math.max(row.tsMs, ...evs.map((e) => e.eventTimeMs));
    return { entityId, deleted: row.deleted, asOfMs, profile: row.profile, events: evs };
  });
}

interface ModelJson {
  readonly feature_spec: FeatureSpec;
  readonly input_name: string;
  readonly output_name: string;
}

export async function expectedPredictions(
  stream: SampleStream,
  model: ModelFiles,
): Promise<Map<string, ExpectedPrediction>> {
  return expectedFromInputs(entityInputs(stream), model);
}

/** The oracle's predictions for entity inputs gathered some other way (e.g. from a real database). */
export async function expectedFromInputs(
  inputs: readonly EntityInput[],
  model: ModelFiles,
): Promise<Map<string, ExpectedPrediction>> {
  const at = join(model.dir, model.name, model.version);
  const manifest = JSON.parse(await readFile(join(at, 'model.json'), 'utf8')) as ModelJson;
  const weights = readLogisticOnnx(
    await readFile(join(at, 'model.onnx')),
    manifest.input_name,
    manifest.output_name,
  );
  const vectors = inputs.map((e) =>
    e.deleted ? null : oracleVector(manifest.feature_spec, e.profile, e.events, e.asOfMs),
  );
  const live = vectors.filter((v): v is Float32Array => v !== null);
  const scores = await sigmoidScores(live.map((v) => logit(weights, v)));
  const out = new Map<string, ExpectedPrediction>();
  let k = 0;
  inputs.forEach((e, i) => {
    const features = vectors[i] ?? null;
    const score = features === null ? null : (scores[k++] as number);
    out.set(e.entityId, { entityId: e.entityId, deleted: e.deleted, asOfMs: e.asOfMs, features, score });
  });
  return out;
}
