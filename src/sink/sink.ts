import type { RedisStore } from '../adapters/redis.js';
import type { Row } from '../decode/types.js';
import type { EventForFeatures } from '../features/index.js';
import type { EntityWork } from '../window/index.js';
import { entityKeys } from './keys.js';
import type { AppliedState, ModelStamp, PredictionRecord } from './types.js';

function pairsToRecord(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const arr = Array.isArray(flat) ? (flat as unknown[]) : [];
  for (let i = 0; i + 1 < arr.length; i += 2) out[String(arr[i])] = String(arr[i + 1]);
  return out;
}

/** Float32 values printed so that parsing them back gives the same float32 (and the same double). */
export function float32Text(v: number): string {
  return String(Math.fround(v));
}

export class RedisSink {
  constructor(
    private readonly store: RedisStore,
    private readonly prefix: string,
    private readonly pipeline: string,
    private readonly lookbackMs: number,
  ) {}

  keys(entityId: string) {
    return entityKeys(this.prefix, this.pipeline, entityId);
  }

  /** Round trip 1: applies every entity's records to its state and reads back what scoring needs. */
  async apply(work: readonly EntityWork[]): Promise<AppliedState[]> {
    const calls = work.map((w) => {
      const k = this.keys(w.entityId);
      const args: Array<string | number> = [this.lookbackMs];
      const cdc = w.cdc;
      if (cdc === null) args.push('', '', '', 0);
      else if (cdc.op === 'upsert') args.push('upsert', cdc.version, JSON.stringify(cdc.profile), cdc.timeMs);
      else if (cdc.op === 'delete') args.push('delete', cdc.version, '', cdc.timeMs);
      else args.push('tombstone', '', '', 0);
      for (const e of w.events) args.push(e.eventId, e.eventTimeMs, JSON.stringify(e.fields));
      return { keys: [k.state, k.events, k.eventData, k.prediction], args };
    });
    const results = await this.store.runScript('apply', calls);
    return results.map((raw, i) => {
      const r = raw as [string, number, number, number, number, string, string, string, unknown[], unknown[]];
      const events: EventForFeatures[] = [];
      const evs = r[8];
      for (let j = 0; j + 2 < evs.length; j += 3) {
        events.push({
          eventId: String(evs[j]),
          eventTimeMs: Number(evs[j + 1]),
          fields: JSON.parse(String(evs[j + 2])) as Row,
        });
      }
      const stored = r[9].length > 0 ? pairsToRecord(r[9]) : null;
      return {
        entityId: (work[i] as EntityWork).entityId,
        cdc: r[0] as AppliedState['cdc'],
        eventsApplied: Number(r[1]),
        eventsUnchanged: Number(r[2]),
        stateVersion: Number(r[3]),
        predictionVersion: Number(r[4]),
        deleted: r[5] === '1',
        asOfMs: Number(r[6]),
        profile: r[7] === '' ? null : (JSON.parse(r[7]) as Row),
        events,
        storedPrediction: stored,
      };
    });
  }

  /** Round trip 2: fenced writes; returns, per prediction, whether it was written (false: a newer one exists). */
  async write(predictions: readonly PredictionRecord[], model: ModelStamp): Promise<boolean[]> {
    const calls = predictions.map((p) => ({
      keys: [this.keys(p.entityId).prediction],
      args: [p.version, ...predictionHashFields(p, model)],
    }));
    const results = await this.store.runScript('write', calls);
    return results.map((r) => Number(r) === 1);
  }
}

/** The float32 vector as a JSON array, without intermediate arrays (a hot path of the Redis write). */
function featuresJson(features: Float32Array | null): string {
  if (features === null) return '[]';
  let out = '[';
  for (let i = 0; i < features.length; i++) {
    const v = features[i] as number;
    out += (i > 0 ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return `${out}]`;
}

export function predictionHashFields(p: PredictionRecord, model: ModelStamp): string[] {
  const common = [
    'entity_id',
    p.entityId,
    'version',
    String(p.version),
    'as_of',
    String(p.asOfMs),
    'scored_at',
    String(p.scoredAtMs),
    'batch_id',
    p.batchId,
    'trigger_topic',
    p.trigger.topic,
    'trigger_partition',
    String(p.trigger.partition),
    'trigger_offset',
    p.trigger.offset,
  ];
  // a deletion keeps the model stamp too, so its event can be re-emitted exactly after a crash
  // prettier-ignore
  const stamp = [
    'model_name', model.name,
    'model_version', model.version,
    'model_sha256', model.sha256,
    'training_run_id', model.trainingRunId,
    'feature_version', model.featureVersion,
  ];
  if (p.kind === 'delete') return [...common, ...stamp, 'deleted', '1'];
  // prettier-ignore
  return [
    ...common,
    ...stamp,
    'deleted', '0',
    'score', float32Text(p.score ?? Number.NaN),
    'tier', p.tier ?? '',
    'features', featuresJson(p.features),
    'valid_until', p.validUntilMs === null ? '' : String(p.validUntilMs),
  ];
}
