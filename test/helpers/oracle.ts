/**
 * The oracle: from the generated logical stream alone — no windows, no Redis, no Kafka — what the
 * pipeline's end state must be. It knows the contract, not the implementation:
 *  - a customer's profile is the `after` of its change with the highest LSN; a delete as highest LSN means
 *    the customer is gone (redeliveries and stale resends change nothing);
 *  - events count once per txn_id; the prediction's as-of time is the latest event time of everything the
 *    entity received (the change's source.ts_ms, the events' event_time), and only data at or before it
 *    enters the features;
 *  - customers never inserted have no prediction.
 * Vectors come from the feature spec (unit-tested on its own), scores from the model one row at a time.
 */
import type { FeatureSpec } from '../../src/features/index.js';
import { buildVector } from '../../src/features/index.js';
import type { LoadedModel } from '../../src/models/index.js';
import type { SampleStream } from '../../src/sample/index.js';

export interface ExpectedPrediction {
  readonly entityId: string;
  readonly deleted: boolean;
  readonly asOfMs: number;
  readonly features: Float32Array | null;
  readonly score: number | null;
}

export async function expectedPredictions(
  stream: SampleStream,
  spec: FeatureSpec,
  model: LoadedModel,
): Promise<Map<string, ExpectedPrediction>> {
  const latest = new Map<
    string,
    { lsn: number; deleted: boolean; profile: Record<string, unknown> | null; tsMs: number }
  >();
  for (const r of stream.cdc) {
    if (r.value === null) continue;
    const id = String(r.key.id);
    const cur = latest.get(id);
    if (cur !== undefined && r.value.source.lsn <= cur.lsn) continue;
    latest.set(id, {
      lsn: r.value.source.lsn,
      deleted: r.value.op === 'd',
      profile: r.value.after as unknown as Record<string, unknown> | null,
      tsMs: r.value.source.ts_ms,
    });
  }
  const events = new Map<
    string,
    Map<string, { eventId: string; eventTimeMs: number; fields: Record<string, unknown> }>
  >();
  for (const r of stream.transactions) {
    let m = events.get(r.key);
    if (m === undefined) events.set(r.key, (m = new Map()));
    if (!m.has(r.value.txn_id)) {
      m.set(r.value.txn_id, {
        eventId: r.value.txn_id,
        eventTimeMs: r.value.event_time,
        fields: { ...r.value },
      });
    }
  }
  const out = new Map<string, ExpectedPrediction>();
  for (const [id, row] of latest) {
    const evs = [...(events.get(id)?.values() ?? [])];
    const asOfMs = Math.max(row.tsMs, ...evs.map((e) => e.eventTimeMs));
    if (row.deleted) {
      out.set(id, { entityId: id, deleted: true, asOfMs, features: null, score: null });
      continue;
    }
    const vector = buildVector(spec, { profile: row.profile, events: evs, asOfMs });
    const [score] = await model.runner.run(vector, 1);
    out.set(id, { entityId: id, deleted: false, asOfMs, features: vector, score: score as number });
  }
  return out;
}
