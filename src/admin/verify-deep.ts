/**
 * `streamscore verify --deep`: rebuilds, from the input log, the feature state each prediction was computed
 * from, and checks its recorded vector against the vector of that rebuilt state.
 *
 * A prediction records its basis (schema_version 4): per input partition, the offset of the newest of the
 * entity's records in the state. Windows of a partition apply in offset order, so the state held exactly
 * the entity's records up to those offsets. The rebuild reads each partition from its start to the largest
 * basis offset (once for every prediction checked), keeps the records of the entities checked, and applies
 * them as the pipeline did: decode and contract (rejected and skipped records left out), coalesced per
 * audited window (the committed windows' offset ranges), applied with the same state rules. Partitions
 * apply in any order: a CDC row only follows rows of its own partition, and an event outside the lookback
 * of the final clock counts for nothing either way (see recover/rebuild.ts).
 *
 * What it cannot show: a basis record that is no longer in the log (a compacted CDC topic keeps only the
 * newest row of a key; retention deletes old events) is named as such. A record applied outside any
 * committed window (a Redis rebuild reads from the log's start, also records the group never windowed) is
 * not applied here, so such a state may not rebuild. Predictions without a basis (written before
 * schema_version 4) are counted as not rebuildable.
 */
import { randomUUID } from 'node:crypto';
import { logEnds, replayLog } from '../adapters/kafka-replay.js';
import type { KafkaClient } from '../adapters/kafka.js';
import type { AuditEventV1, PredictionEventV1 } from '../emit/index.js';
import { buildVector, featureNames } from '../features/index.js';
import { decodeValid } from '../pipeline/roles.js';
import type { InputRole } from '../pipeline/types.js';
import { EMPTY_STATE, applyWork } from '../sink/index.js';
import type { EntityState, StateFields } from '../sink/index.js';
import { groupByEntity } from '../window/index.js';
import type { DecodedRecord } from '../window/index.js';
import type { ModelsBySha } from './verify.js';

export interface DeepDeps {
  readonly kafka: KafkaClient;
  /** The input topics' decoders and contracts, as the pipeline builds them. */
  readonly roles: ReadonlyMap<string, InputRole>;
  /** The state fields the pipeline keeps. */
  readonly kept: StateFields;
  readonly onProgress?: (what: string, done: number, total: number) => void;
}

export interface DeepTarget {
  readonly batchId: string;
  readonly at: string;
  readonly event: PredictionEventV1;
}

export interface DeepResult {
  /** Predictions whose state was rebuilt and compared. */
  readonly rebuilt: number;
  /** Predictions without a basis (written before schema_version 4). */
  readonly noBasis: number;
  /** Problems by batch id. */
  readonly problems: ReadonlyMap<string, readonly string[]>;
}

const tpOf = (topic: string, partition: number) => `${topic}/${partition}`;

/** The committed windows' offset ranges per input partition, in offset order. */
export function windowRanges(audits: readonly AuditEventV1[]): Map<string, Array<[bigint, bigint]>> {
  const out = new Map<string, Array<[bigint, bigint]>>();
  for (const a of audits)
    for (const r of a.inputs) {
      const list = out.get(tpOf(r.topic, r.partition)) ?? [];
      list.push([BigInt(r.first_offset), BigInt(r.last_offset)]);
      out.set(tpOf(r.topic, r.partition), list);
    }
  for (const list of out.values()) list.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return out;
}

/** Index of the range holding `offset`, or -1 (binary search over sorted, disjoint ranges). */
export function rangeOf(ranges: ReadonlyArray<readonly [bigint, bigint]>, offset: bigint): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = ranges[mid] as readonly [bigint, bigint];
    if (offset < first) hi = mid - 1;
    else if (offset > last) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * An entity's state rebuilt from its records: those at or below the basis offset of their partition,
 * inside a committed window, coalesced per window and applied partition by partition in offset order.
 */
export function rebuildState(
  records: readonly DecodedRecord[],
  basis: ReadonlyMap<string, bigint>,
  ranges: ReadonlyMap<string, ReadonlyArray<readonly [bigint, bigint]>>,
  fields: StateFields,
): EntityState {
  const byTp = new Map<string, DecodedRecord[]>();
  for (const r of records) {
    const tp = tpOf(r.ref.topic, r.ref.partition);
    const bound = basis.get(tp);
    if (bound === undefined || BigInt(r.ref.offset) > bound) continue;
    const list = byTp.get(tp) ?? [];
    list.push(r);
    byTp.set(tp, list);
  }
  let state: EntityState = EMPTY_STATE;
  for (const [tp, list] of byTp) {
    list.sort((a, b) => (BigInt(a.ref.offset) < BigInt(b.ref.offset) ? -1 : 1));
    const windows = ranges.get(tp) ?? [];
    let group: DecodedRecord[] = [];
    let groupWindow = -1;
    const flush = () => {
      for (const w of groupByEntity(group)) {
        const next = applyWork(state, w, fields).next;
        if (next !== null) state = { ...next, sv: state.sv + 1 };
      }
      group = [];
    };
    for (const r of list) {
      const w = rangeOf(windows, BigInt(r.ref.offset));
      if (w < 0) continue; // never in a committed window of this pipeline
      if (w !== groupWindow) flush();
      groupWindow = w;
      group.push(r);
    }
    flush();
  }
  return state;
}

const same = (a: number, b: number) => Math.fround(a) === Math.fround(b);

/** Rebuilds the state behind every target prediction and compares (see the module comment). */
export async function verifyDeep(
  deps: DeepDeps,
  audits: readonly AuditEventV1[],
  targets: readonly DeepTarget[],
  models: ModelsBySha,
): Promise<DeepResult> {
  const problems = new Map<string, string[]>();
  const problem = (batchId: string, text: string) => {
    const list = problems.get(batchId) ?? [];
    list.push(text);
    problems.set(batchId, list);
  };
  const withBasis = targets.filter((t) => t.event.basis !== null && t.event.basis.length > 0);
  const entities = new Set(withBasis.map((t) => t.event.entity_id));
  const bounds = new Map<string, bigint>();
  for (const t of withBasis)
    for (const b of t.event.basis ?? []) {
      const tp = tpOf(b.topic, b.partition);
      const had = bounds.get(tp);
      if (had === undefined || BigInt(b.offset) > had) bounds.set(tp, BigInt(b.offset));
    }

  // one read of every partition a basis names, up to its largest basis offset
  const topics = [...new Set([...bounds.keys()].map((tp) => tp.slice(0, tp.lastIndexOf('/'))))];
  const unknown = topics.filter((t) => !deps.roles.has(t));
  const known = topics.filter((t) => deps.roles.has(t));
  const ends = new Map<string, { low: bigint; high: bigint }>();
  if (known.length > 0)
    for (const [tp, e] of await logEnds(deps.kafka, known)) {
      const bound = bounds.get(tp);
      if (bound !== undefined) ends.set(tp, { low: e.low, high: bound + 1n < e.high ? bound + 1n : e.high });
    }
  const kept = new Map<string, DecodedRecord[]>();
  await replayLog(deps.kafka, {
    topics: known,
    ends,
    groupId: `streamscore-verify-deep-${randomUUID()}`,
    fetchMaxBytes: 8 << 20,
    onProgress: (p, t) => deps.onProgress?.('rebuilding states from the log', Number(p), Number(t)),
    onBatch: async (batch) => {
      const role = deps.roles.get(batch.topic) as InputRole;
      const { records } = await decodeValid(role, batch.records, Date.now(), () => undefined);
      for (const r of records) {
        const id = r.decoded.entityId;
        if (id === null || !entities.has(id)) continue;
        const list = kept.get(id) ?? [];
        list.push(r);
        kept.set(id, list);
      }
    },
  });

  const ranges = windowRanges(audits);
  let rebuilt = 0;
  for (const t of withBasis) {
    const e = t.event;
    const what = `prediction ${e.entity_id} v${e.version} at ${t.at}`;
    const basis = new Map((e.basis ?? []).map((b) => [tpOf(b.topic, b.partition), BigInt(b.offset)]));
    if ((e.basis ?? []).some((b) => unknown.includes(b.topic))) {
      problem(
        t.batchId,
        `${what}: its basis names input topics the config does not read (${unknown.join(', ')})`,
      );
      continue;
    }
    const records = kept.get(e.entity_id) ?? [];
    const missing = [...basis].filter(
      ([tp, off]) =>
        !records.some((r) => BigInt(r.ref.offset) === off && tpOf(r.ref.topic, r.ref.partition) === tp),
    );
    if (missing.length > 0) {
      problem(
        t.batchId,
        `${what}: cannot rebuild its state, ${missing.map(([tp, off]) => `${tp}@${off}`).join(', ')} (in its basis) is no longer in the log as a record of ${e.entity_id} (compacted away, deleted, or rewritten)`,
      );
      continue;
    }
    const scorer = await models.get(e.model.sha256);
    if (scorer === null) continue; // verifyBatch names the missing model
    const state = rebuildState(records, basis, ranges, deps.kept);
    rebuilt += 1;
    if (e.event_type === 'DELETE') {
      if (!state.deleted)
        problem(
          t.batchId,
          `${what}: a DELETE, but the state rebuilt from the log has a live row (LSN ${state.lsn})`,
        );
      continue;
    }
    if (state.deleted || state.profile === null) {
      problem(
        t.batchId,
        `${what}: scored, but the state rebuilt from the log has ${state.deleted ? 'its row deleted' : 'no profile row'}`,
      );
      continue;
    }
    const spec = scorer.model.featureSpec;
    const vector = buildVector(spec, { profile: state.profile, events: state.events, asOfMs: e.as_of });
    const names = featureNames(spec);
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(vector.length, e.features.length); i++) {
      const recorded = e.features[i];
      const again = vector[i];
      if (recorded !== undefined && again !== undefined && same(recorded, again)) continue;
      if (recorded !== undefined && again !== undefined && Number.isNaN(recorded) && Number.isNaN(again))
        continue;
      diffs.push(`${names[i] ?? `#${i}`} recorded ${recorded ?? '(none)'}, rebuilt ${again ?? '(none)'}`);
    }
    if (diffs.length > 0)
      problem(
        t.batchId,
        `${what}: the vector differs from the state rebuilt from the log (${state.events.length} events, LSN ${state.lsn}): ${diffs.join('; ')}`,
      );
  }
  return { rebuilt, noBasis: targets.length - withBasis.length, problems };
}
