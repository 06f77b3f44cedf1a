/**
 * Records a real topic carries twice. Kafka producers and Debezium are at-least-once: after a restart or a
 * failed ack they send again everything since the last committed position, i.e. a contiguous run of recent
 * records (every partition gets a contiguous run of its own recent records). And a change can arrive again
 * after a newer change of the same row (a replayed older change), which must not win over the newer one.
 */
import type { Random } from './random.js';
import type { CdcRecord, Resend, TransactionRecord } from './types.js';

type Sendable = CdcRecord | TransactionRecord;

export interface ResendOptions<R extends Sendable> {
  readonly rng: Random;
  /** Share of re-sent copies relative to the input length. */
  readonly duplicateRate: number;
  /** CDC only: share of older changes re-sent after a newer change of the same row. */
  readonly staleRate: number;
  readonly idOf: (r: R) => number;
}

export interface WithResends<R> {
  readonly records: R[];
  readonly duplicates: number;
  readonly stale: number;
}

function copy<R extends Sendable>(r: R, resend: Resend, atMs: number): R {
  return { ...r, resend, atMs };
}

/** A change (not a delete, not a tombstone) whose row changes again later: index → index of that change. */
function staleCandidates<R extends Sendable>(
  base: readonly R[],
  idOf: (r: R) => number,
): Map<number, number> {
  const nextChange = new Map<number, number>();
  const out = new Map<number, number>();
  for (let i = base.length - 1; i >= 0; i--) {
    const r = base[i]!;
    if (r.topic !== 'cdc' || r.value === null) continue;
    const id = idOf(r);
    const next = nextChange.get(id);
    if (next !== undefined && r.value.op !== 'd') out.set(i, next);
    nextChange.set(id, i);
  }
  return out;
}

export function injectResends<R extends Sendable>(base: readonly R[], o: ResendOptions<R>): WithResends<R> {
  const n = base.length;
  const after = new Map<number, R[]>();
  const insert = (position: number, r: R) => {
    const list = after.get(position);
    if (list === undefined) after.set(position, [r]);
    else list.push(r);
  };

  let stale = 0;
  if (o.staleRate > 0) {
    const candidates = staleCandidates(base, o.idOf);
    const chosen = o.rng
      .shuffle([...candidates.keys()])
      .slice(0, Math.round(o.staleRate * n))
      .sort((a, b) => a - b);
    for (const i of chosen) {
      let position = candidates.get(i)!;
      const next = base[position + 1];
      // A delete's tombstone stays right behind it; the stale change comes after both.
      if (
        next !== undefined &&
        next.topic === 'cdc' &&
        next.value === null &&
        o.idOf(next) === o.idOf(base[i]!)
      ) {
        position++;
      }
      position = Math.min(n - 1, position + o.rng.int(0, 3));
      insert(position, copy(base[i]!, 'stale', base[position]!.atMs));
      stale++;
    }
  }

  let duplicates = 0;
  const wanted = o.duplicateRate * n;
  if (wanted > 0 && n >= 2) {
    const meanRun = Math.min(25, Math.max(3, Math.round(n / 200)));
    const runs = Math.max(1, Math.round(wanted / meanRun));
    for (let k = 0; k < runs; k++) {
      const last = o.rng.int(1, n - 1);
      const length = Math.min(last + 1, o.rng.int(2, 2 * meanRun - 2));
      for (let i = last - length + 1; i <= last; i++)
        insert(last, copy(base[i]!, 'duplicate', base[last]!.atMs));
      duplicates += length;
    }
  }

  const records: R[] = [];
  for (let i = 0; i < n; i++) {
    records.push(base[i]!);
    const extra = after.get(i);
    if (extra !== undefined) records.push(...extra);
  }
  return { records, duplicates, stale };
}
