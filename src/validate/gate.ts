/**
 * The batch-level gate: is the share of rejected records so high that the upstream is broken, rather than
 * a few records bad? Judged per window (windows of at least `minRecords`) and over a rolling horizon of
 * each partition's last `rollingRecords` records, so a slow trickle of garbage in small windows trips it
 * as surely as one large bad window. Pure bookkeeping: the pipeline decides what a trip does (the policy).
 */

export interface GateLimits {
  /** Trip above this share of rejected records … */
  readonly ratio: number;
  /** … among at least this many records (a window alone, or the rolling horizon). */
  readonly minRecords: number;
  /** The rolling horizon per partition, in records. */
  readonly rollingRecords: number;
}

export interface GateVerdict {
  readonly scope: 'window' | 'rolling';
  readonly rejected: number;
  readonly records: number;
}

interface Horizon {
  /** Committed windows, oldest first: [records, rejected]. */
  readonly windows: Array<readonly [number, number]>;
  records: number;
  rejected: number;
}

export class RejectionGate {
  readonly #limits: GateLimits;
  readonly #horizons = new Map<string, Horizon>();

  constructor(limits: GateLimits) {
    this.#limits = limits;
  }

  /** Would a window of `records` with `rejected` of them rejected trip the gate on `partition`? */
  assess(partition: string, records: number, rejected: number): GateVerdict | null {
    const { ratio, minRecords } = this.#limits;
    if (records >= minRecords && rejected / records > ratio) return { scope: 'window', rejected, records };
    const h = this.#horizons.get(partition);
    const total = (h?.records ?? 0) + records;
    const bad = (h?.rejected ?? 0) + rejected;
    if (rejected > 0 && total >= minRecords && bad / total > ratio)
      return { scope: 'rolling', rejected: bad, records: total };
    return null;
  }

  /** A window of `partition` committed: it joins the horizon, and the oldest windows beyond it leave. */
  committed(partition: string, records: number, rejected: number): void {
    let h = this.#horizons.get(partition);
    if (h === undefined) {
      h = { windows: [], records: 0, rejected: 0 };
      this.#horizons.set(partition, h);
    }
    h.windows.push([records, rejected]);
    h.records += records;
    h.rejected += rejected;
    for (;;) {
      const oldest = h.windows[0];
      if (oldest === undefined || h.records - oldest[0] < this.#limits.rollingRecords) break;
      h.windows.shift();
      h.records -= oldest[0];
      h.rejected -= oldest[1];
    }
  }

  /** The partition left this member: its horizon starts again with the next owner's windows. */
  forget(partition: string): void {
    this.#horizons.delete(partition);
  }
}
