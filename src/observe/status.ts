import type { AuditEventV1 } from '../emit/types.js';

/** One committed window, as the status page lists it. */
export interface WindowSummary {
  readonly batchId: string;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly closedAt: number;
  readonly openMs: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly stageMs: Readonly<Record<string, number>>;
  /** COMMITTED, or QUARANTINED when the output guard refused its scores (quarantine_reason set). */
  readonly outcome: string;
}

export interface PartitionStatus {
  readonly partition: string;
  readonly lag: number | null;
  readonly lastCommitAt: number | null;
  readonly stalledForMs: number | null;
}

/** What /status.json serves (the status page renders it). */
export interface StatusReport {
  readonly pipeline: string;
  readonly instance: string;
  readonly now: number;
  readonly startedAt: number;
  readonly ready: boolean;
  readonly problems: readonly string[];
  readonly model: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionStatus[];
  readonly windows: readonly WindowSummary[];
  /** Records sent to the DLQ since start, per input topic. */
  readonly dlq: Readonly<Record<string, number>>;
  readonly committedWindows: number;
  /** Windows the output guard quarantined since start. */
  readonly quarantinedWindows: number;
  /** The drift monitor's last report (from the last audit event that carried one). */
  readonly drift: AuditEventV1['drift'];
}

/** The recent windows and DLQ totals of this process (bounded: the last `keep` windows). */
export class StatusBoard {
  readonly #windows: WindowSummary[] = [];
  readonly #dlq = new Map<string, number>();
  #committed = 0;
  #quarantined = 0;
  #drift: AuditEventV1['drift'] = null;

  constructor(private readonly keep = 25) {}

  window(audit: AuditEventV1): void {
    const input = audit.inputs[0];
    this.#committed += 1;
    if (audit.quarantine_reason !== null) this.#quarantined += 1;
    if (audit.drift !== null) this.#drift = audit.drift;
    if (input === undefined) return;
    if (audit.counts.invalid > 0)
      this.#dlq.set(input.topic, (this.#dlq.get(input.topic) ?? 0) + audit.counts.invalid);
    this.#windows.unshift({
      batchId: audit.batch_id,
      topic: input.topic,
      partition: input.partition,
      firstOffset: input.first_offset,
      lastOffset: input.last_offset,
      closedAt: audit.closed_at,
      openMs: audit.closed_at - audit.opened_at,
      counts: { ...audit.counts },
      stageMs: { ...audit.stage_ms },
      outcome: audit.quarantine_reason !== null ? 'QUARANTINED' : audit.outcome,
    });
    if (this.#windows.length > this.keep) this.#windows.length = this.keep;
  }

  get windows(): readonly WindowSummary[] {
    return this.#windows;
  }

  get dlq(): Record<string, number> {
    return Object.fromEntries(this.#dlq);
  }

  get committed(): number {
    return this.#committed;
  }

  get quarantined(): number {
    return this.#quarantined;
  }

  get drift(): AuditEventV1['drift'] {
    return this.#drift;
  }
}
