/**
 * A seeded, realistic input stream for the sample domain: the `customers` table as Debezium's PostgreSQL
 * connector writes it, and the card-transaction events a payments service writes, with the cases a
 * streaming pipeline gets wrong: snapshot then streaming, deletes and their tombstones, re-inserted ids,
 * multi-row database transactions, at-least-once redelivery runs, older changes re-sent after newer ones,
 * late events, events for customers not inserted yet, already deleted, or never in the table.
 *
 * The same options always give a deep-equal stream (no clock, no Math.random). Each concern draws from its
 * own forked PRNG stream, so turning a rate knob does not reshuffle the rest of the data.
 */
import { z } from 'zod';
import {
  accrueInterest,
  DAY_MS,
  drawLatent,
  keyOnly,
  newCustomer,
  updateCustomer,
  type Latent,
} from './customers.js';
import { kafkaPartition } from './partition.js';
import { Random } from './random.js';
import type {
  CdcRecord,
  CdcSource,
  CdcValue,
  CustomerRow,
  SampleStream,
  SampleSummary,
  SnapshotMarker,
} from './types.js';
import { aliveIntervals, generateTransactions, timeWithin, type Lifetime } from './transactions.js';
import { injectResends } from './resend.js';

export const generateOptionsSchema = z
  .object({
    seed: z.number().int(),
    customers: z.number().int().min(0),
    /** Mean events per customer over the whole span (a customer alive for half of it gets half). */
    transactionsPerCustomer: z.number().min(0).default(20),
    /** Start of the simulated period (snapshot time); the period lasts 40 days. Default 2024-03-01Z. */
    startMs: z
      .number()
      .int()
      .default(Date.UTC(2024, 2, 1)),
    partitions: z.number().int().min(1).default(6),
    /** Share of records re-sent as exact copies, in contiguous runs (producer restart / retry). */
    duplicateRate: z.number().min(0).max(1).default(0.01),
    /** Share of CDC changes re-sent after a newer change of the same row; share of late transactions. */
    outOfOrderRate: z.number().min(0).max(1).default(0.02),
    /** Probability that a customer is deleted during the period (30% of those come back later). */
    deleteRate: z.number().min(0).max(1).default(0.03),
    /** Start with Debezium's initial snapshot (op r); without it, existing rows arrive as a bulk load of inserts. */
    snapshot: z.boolean().default(true),
    /**
     * `before` of an update under the default replica identity: 'key' is the primary key with every other
     * column null (Debezium's documented example); 'none' is null, what pgoutput gives when the key did not
     * change. Deletes always carry the key. A consumer must read both.
     */
    updateBefore: z.enum(['key', 'none']).default('key'),
  })
  .strict();

export type GenerateOptions = z.input<typeof generateOptionsSchema>;

export const SPAN_DAYS = 40;
/** Customer ids are a Postgres serial that started long ago. */
export const FIRST_CUSTOMER_ID = 100_001;
/** pg_current_wal_lsn() of a database that has been running for a while; 40 days stay far below 2^53. */
const FIRST_LSN = 23_000_000_000;
const CONNECTOR = {
  version: '2.7.3.Final',
  connector: 'postgresql',
  name: 'bank',
  db: 'bank',
  schema: 'public',
  table: 'customers',
} as const;

type ChangeKind = 'insert' | 'reinsert' | 'update' | 'interest' | 'delete';

/** One row change in commit order; `tx` groups the changes of one database transaction. */
interface Change {
  readonly atMs: number;
  readonly id: number;
  readonly kind: ChangeKind;
  readonly tx: number;
}

interface Plan extends Lifetime {
  readonly latent: Latent;
  /** In the table before the period starts (snapshot read, or bulk-loaded at the start without one). */
  readonly existing: boolean;
}

function aliveAt(p: Lifetime, t: number, endMs: number): boolean {
  return aliveIntervals(p, endMs).some(([a, b]) => t > a && t < b);
}

function planCustomers(
  o: Required<z.output<typeof generateOptionsSchema>>,
  rng: Random,
  streamStartMs: number,
) {
  const endMs = o.startMs + SPAN_DAYS * DAY_MS;
  const plans: Plan[] = [];
  for (let i = 0; i < o.customers; i++) {
    const existing = rng.bernoulli(0.7);
    const insertMs = existing
      ? o.snapshot
        ? o.startMs
        : streamStartMs + rng.int(0, 3_600_000)
      : rng.int(streamStartMs + 3_600_000, endMs - DAY_MS);
    const deleted = rng.bernoulli(o.deleteRate) && endMs - insertMs > 4 * 3_600_000;
    const deleteMs = deleted
      ? rng.int(Math.max(insertMs, streamStartMs) + 3_600_000, endMs - 2 * 3_600_000)
      : null;
    const reinsertMs =
      deleteMs !== null && rng.bernoulli(0.3) ? rng.int(deleteMs + 600_000, endMs - 600_000) : null;
    plans.push({
      id: FIRST_CUSTOMER_ID + i,
      latent: drawLatent(rng),
      existing,
      insertMs,
      deleteMs,
      reinsertMs,
    });
  }
  return plans;
}

/** Every row change of the period in commit order (the snapshot is not a change). */
function schedule(
  plans: readonly Plan[],
  o: { snapshot: boolean },
  rng: Random,
  streamStartMs: number,
  endMs: number,
) {
  const changes: Change[] = [];
  let tx = 0;
  for (const p of plans) {
    if (!(p.existing && o.snapshot)) changes.push({ atMs: p.insertMs, id: p.id, kind: 'insert', tx: tx++ });
    if (p.deleteMs !== null) changes.push({ atMs: p.deleteMs, id: p.id, kind: 'delete', tx: tx++ });
    if (p.reinsertMs !== null) changes.push({ atMs: p.reinsertMs, id: p.id, kind: 'reinsert', tx: tx++ });
    const spans = aliveIntervals(p, endMs).map(
      ([a, b]) => [Math.max(a, streamStartMs) + 1000, b - 1000] as const,
    );
    const alive = spans.reduce((s, [a, b]) => s + Math.max(0, b - a), 0);
    const n = rng.poisson((3 * alive) / (endMs - streamStartMs));
    for (let k = 0; k < n && alive > 0; k++) {
      changes.push({ atMs: timeWithin(rng, spans, alive), id: p.id, kind: 'update', tx: tx++ });
    }
  }
  // The nightly interest run: one database transaction updating a batch of balances.
  let multiRow = 0;
  const batch = Math.min(40, Math.max(2, Math.floor(plans.length / 50)));
  for (let day = 1; day < SPAN_DAYS && plans.length >= 2; day++) {
    if (!rng.bernoulli(0.5)) continue;
    const at = Math.max(
      streamStartMs + 1000,
      Math.floor((streamStartMs - 1) / DAY_MS + day) * DAY_MS + 2 * 3_600_000,
    );
    const picked = new Set<number>();
    for (let tries = 0; tries < batch * 4 && picked.size < batch; tries++) {
      const p = rng.pick(plans);
      if (aliveAt(p, at, endMs)) picked.add(p.id);
    }
    if (picked.size < 2) continue;
    multiRow++;
    const id = tx++;
    for (const cid of [...picked].sort((a, b) => a - b))
      changes.push({ atMs: at, id: cid, kind: 'interest', tx: id });
  }
  changes.sort((a, b) => a.atMs - b.atMs || a.tx - b.tx);
  return { changes, multiRow };
}

/** Writes what Debezium would, in commit order: snapshot reads, then one event per change (+ tombstones). */
class Connector {
  readonly records: CdcRecord[] = [];
  readonly rows = new Map<number, CustomerRow>();
  #lsn: number;
  #commitLsn: number;
  #txId: number;
  #processedMs: number;
  readonly #rng: Random;
  readonly #partitionOf: (id: number) => number;

  constructor(rng: Random, startMs: number, partitionOf: (id: number) => number) {
    this.#rng = rng;
    this.#partitionOf = partitionOf;
    this.#lsn = FIRST_LSN + rng.int(0, 9_999_999);
    this.#commitLsn = this.#lsn;
    this.#txId = rng.int(700, 50_000);
    this.#processedMs = startMs;
  }

  /** Debezium's processing lag: milliseconds usually, now and then a backlog of seconds to minutes. */
  #process(committedMs: number): number {
    let lag = 3 + Math.round(this.#rng.exponential(120));
    if (this.#rng.bernoulli(0.003)) lag += this.#rng.int(5_000, 120_000);
    this.#processedMs = Math.max(this.#processedMs, committedMs + lag);
    return this.#processedMs;
  }

  #source(tsMs: number, snapshot: SnapshotMarker, sequence: string | null): CdcSource {
    const tsUs = tsMs * 1000 + this.#rng.int(0, 999);
    // Spelled out rather than spread: V8 builds spread objects an order of magnitude slower.
    return {
      version: CONNECTOR.version,
      connector: CONNECTOR.connector,
      name: CONNECTOR.name,
      ts_ms: tsMs,
      snapshot,
      db: CONNECTOR.db,
      sequence,
      ts_us: tsUs,
      ts_ns: `${tsUs}000`,
      schema: CONNECTOR.schema,
      table: CONNECTOR.table,
      txId: this.#txId,
      lsn: this.#lsn,
      xmin: null,
    };
  }

  #emit(
    id: number,
    op: CdcValue['op'],
    before: CustomerRow | null,
    after: CustomerRow | null,
    source: CdcSource,
  ) {
    const processed = this.#process(source.ts_ms);
    const tsUs = processed * 1000 + this.#rng.int(0, 999);
    const value: CdcValue = {
      before,
      after,
      source,
      transaction: null,
      op,
      ts_ms: processed,
      ts_us: tsUs,
      ts_ns: `${tsUs}000`,
    };
    const partition = this.#partitionOf(id);
    this.records.push({ topic: 'cdc', partition, key: { id }, value, atMs: processed, resend: null });
    // tombstones.on.delete=true (the default): same key, null value, right behind the delete.
    if (op === 'd')
      this.records.push({ topic: 'cdc', partition, key: { id }, value: null, atMs: processed, resend: null });
  }

  /** The initial snapshot: one read per row in table order, all at the snapshot's LSN, in one transaction. */
  snapshot(rows: readonly CustomerRow[], startMs: number): void {
    this.#txId += 1;
    rows.forEach((row, i) => {
      this.rows.set(row.id, row);
      const marker: SnapshotMarker = i === rows.length - 1 ? 'last' : 'true';
      this.#emit(row.id, 'r', null, row, this.#source(startMs + Math.floor(i / 5), marker, null));
    });
  }

  /** One database transaction: its changes get consecutive LSNs, one txId and one commit time. */
  commit(
    atMs: number,
    changes: readonly { id: number; before: CustomerRow | null; after: CustomerRow | null }[],
  ) {
    this.#txId += this.#rng.int(1, 4);
    this.#lsn += this.#rng.int(2_000, 200_000); // WAL written by the rest of the database meanwhile
    for (const c of changes) {
      this.#lsn += this.#rng.int(40, 600);
      const source = this.#source(
        atMs,
        'false',
        JSON.stringify([String(this.#commitLsn), String(this.#lsn)]),
      );
      if (c.after === null) {
        this.rows.delete(c.id);
        this.#emit(c.id, 'd', c.before, null, source);
      } else {
        const existed = this.rows.has(c.id);
        this.rows.set(c.id, c.after);
        this.#emit(c.id, existed ? 'u' : 'c', existed ? c.before : null, c.after, source);
      }
    }
    this.#commitLsn = this.#lsn + this.#rng.int(24, 120);
  }
}

export function generateStream(options: GenerateOptions): SampleStream {
  const o = generateOptionsSchema.parse(options) as Required<z.output<typeof generateOptionsSchema>>;
  const root = new Random(o.seed);
  const rngPlan = root.fork();
  const rngRows = root.fork();
  const rngDb = root.fork();
  const rngTx = root.fork();
  const rngResend = root.fork();
  const endMs = o.startMs + SPAN_DAYS * DAY_MS;
  // Snapshot reads take 0.2 ms a row; streaming starts a second after the snapshot's last read.
  const streamStartMs = o.snapshot ? o.startMs + Math.ceil(o.customers / 5) + 1000 : o.startMs;

  const partitionCache = new Map<number, number>();
  const partitionOf = (id: number): number => {
    let p = partitionCache.get(id);
    if (p === undefined) {
      p = kafkaPartition(String(id), o.partitions);
      partitionCache.set(id, p);
    }
    return p;
  };

  const plans = planCustomers(o, rngPlan, streamStartMs);
  const byId = new Map(plans.map((p) => [p.id, p]));
  const connector = new Connector(rngDb, o.startMs, partitionOf);
  if (o.snapshot) {
    const existing = plans.filter((p) => p.existing);
    connector.snapshot(
      existing.map((p) => newCustomer(rngRows, p.id, o.startMs, p.latent, true)),
      o.startMs,
    );
  }
  const { changes, multiRow } = schedule(plans, o, rngDb, streamStartMs, endMs);
  const counts = { inserts: 0, reinserts: 0, updates: 0, deletes: 0 };
  for (let i = 0; i < changes.length;) {
    const first = changes[i]!;
    const group: { id: number; before: CustomerRow | null; after: CustomerRow | null }[] = [];
    for (; i < changes.length && changes[i]!.tx === first.tx; i++) {
      const c = changes[i]!;
      const plan = byId.get(c.id)!;
      const row = connector.rows.get(c.id);
      if (c.kind === 'delete') {
        group.push({ id: c.id, before: keyOnly(c.id), after: null });
        counts.deletes++;
      } else if (c.kind === 'insert' || c.kind === 'reinsert') {
        const existing = c.kind === 'insert' && plan.existing;
        group.push({
          id: c.id,
          before: null,
          after: newCustomer(rngRows, c.id, c.atMs, plan.latent, existing),
        });
        counts[c.kind === 'insert' ? 'inserts' : 'reinserts']++;
      } else if (row !== undefined) {
        const after =
          c.kind === 'interest'
            ? accrueInterest(row, c.atMs)
            : updateCustomer(rngRows, row, c.atMs, plan.latent);
        group.push({ id: c.id, before: o.updateBefore === 'key' ? keyOnly(c.id) : null, after });
        counts.updates++;
      }
    }
    if (group.length > 0) connector.commit(first.atMs, group);
  }

  const cdcBase = connector.records;
  const cdc = injectResends(cdcBase, {
    rng: rngResend.fork(),
    duplicateRate: o.duplicateRate,
    staleRate: o.outOfOrderRate,
    idOf: (r) => r.key.id,
  });
  const tx = generateTransactions({
    rng: rngTx,
    lifetimes: plans,
    latent: (id) => byId.get(id)?.latent ?? null,
    firstUnknownId: FIRST_CUSTOMER_ID + o.customers + 1000,
    perCustomer: o.transactionsPerCustomer,
    lateRate: o.outOfOrderRate,
    startMs: o.startMs,
    endMs,
    partitionOf,
  });
  const transactions = injectResends(tx.records, {
    rng: rngResend.fork(),
    duplicateRate: o.duplicateRate,
    staleRate: 0,
    idOf: (r) => r.value.customer_id,
  });

  const finalRows = [...connector.rows.values()].sort((a, b) => a.id - b.id);
  const deletedIds = plans.filter((p) => p.deleteMs !== null && p.reinsertMs === null).map((p) => p.id);
  const summary: SampleSummary = {
    finalRows,
    deletedIds,
    cdc: {
      snapshot: cdcBase.filter((r) => r.value?.op === 'r').length,
      ...counts,
      tombstones: counts.deletes,
      duplicates: cdc.duplicates,
      stale: cdc.stale,
      multiRowTransactions: multiRow,
    },
    transactions: { ...tx.counts, duplicates: transactions.duplicates },
  };
  return {
    partitions: o.partitions,
    startMs: o.startMs,
    endMs,
    cdc: cdc.records,
    transactions: transactions.records,
    summary,
  };
}
