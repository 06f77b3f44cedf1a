/**
 * The card-transaction events of the sample domain, as a payments service produces them: keyed by customer
 * id, mostly in event-time order, a few arriving late (offline terminals, settlement files), some for
 * customers the CDC stream has not inserted yet, some after the customer was deleted, and a few for ids the
 * customers table never had. Amounts, channels, merchant codes and declines follow the training data's
 * generating process (scripts/train/synthetic.ts).
 */
import { DAY_MS, sigmoid, type Latent } from './customers.js';
import type { Random } from './random.js';
import type { Channel, TransactionRecord, TransactionValue } from './types.js';

/** When a customer row exists: inserted, maybe deleted, maybe inserted again. */
export interface Lifetime {
  readonly id: number;
  readonly insertMs: number;
  readonly deleteMs: number | null;
  readonly reinsertMs: number | null;
}

export function aliveIntervals(p: Lifetime, endMs: number): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [[p.insertMs, p.deleteMs ?? endMs]];
  if (p.reinsertMs !== null) out.push([p.reinsertMs, endMs]);
  return out;
}

/** A uniform instant within `spans` (total length `total` > 0). */
export function timeWithin(
  rng: Random,
  spans: readonly (readonly [number, number])[],
  total: number,
): number {
  let u = rng.next() * total;
  for (const [a, b] of spans) {
    const len = Math.max(0, b - a);
    if (u < len) return a + Math.floor(u);
    u -= len;
  }
  const last = spans[spans.length - 1];
  return last === undefined ? 0 : last[1] - 1;
}

const CHANNELS: readonly (readonly [Channel, number])[] = [
  ['card', 0.6],
  ['online', 0.25],
  ['atm', 0.1],
  ['branch', 0.05],
];
const CARD_MCC = [
  ['5411', 0.35],
  ['5812', 0.2],
  ['5541', 0.15],
  ['4111', 0.1],
  ['5999', 0.2],
] as const;
const ONLINE_MCC = [
  ['5732', 0.3],
  ['4814', 0.3],
  ['5999', 0.4],
] as const;
const NO_LATENT: Latent = { engagement: 0, stress: 0, fading: 0 };
const HOUR_MS = 3_600_000;

export interface TransactionOptions {
  readonly rng: Random;
  readonly lifetimes: readonly Lifetime[];
  readonly latent: (id: number) => Latent | null;
  /** Ids from here on are never in the customers table. */
  readonly firstUnknownId: number;
  readonly perCustomer: number;
  /** Share of events that arrive minutes to days after their event time. */
  readonly lateRate: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly partitionOf: (id: number) => number;
}

export interface GeneratedTransactions {
  /** In arrival order, without resends. */
  readonly records: TransactionRecord[];
  readonly counts: {
    readonly unique: number;
    readonly late: number;
    readonly beforeInsert: number;
    readonly afterDelete: number;
    readonly unknownCustomer: number;
  };
}

/** One card or account transaction of customer `id` at `t`, drawn from its latent traits. */
export function drawTransaction(rng: Random, id: number, t: number, latent: Latent): TransactionValue {
  const type = rng.bernoulli(0.85) ? 'debit' : 'credit';
  const channel = rng.weighted(CHANNELS);
  const mcc =
    channel === 'atm'
      ? '6011'
      : channel === 'branch'
        ? '6010'
        : rng.weighted(channel === 'card' ? CARD_MCC : ONLINE_MCC);
  const amount = Math.max(
    0.01,
    Math.round(Math.exp(rng.normal(3.3, 1)) * (type === 'credit' ? 3 : 1) * 100) / 100,
  );
  const utilisation = 1.5 * sigmoid(-1.3 + 1.2 * latent.stress);
  const pDecline = sigmoid(-4.2 + 1.3 * latent.stress + 2 * Math.max(0, utilisation - 0.85));
  const declined = type === 'debit' && rng.bernoulli(pDecline);
  return { txn_id: rng.uuid(), customer_id: id, amount, type, channel, mcc, declined, event_time: t };
}

export function generateTransactions(o: TransactionOptions): GeneratedTransactions {
  const { rng, startMs, endMs } = o;
  const span = endMs - startMs;
  const drafts: { value: TransactionValue; arrival: number }[] = [];
  const counts = { beforeInsert: 0, afterDelete: 0, unknownCustomer: 0 };
  const add = (id: number, t: number, latent: Latent) => {
    const value = drawTransaction(rng, id, t, latent);
    const delay = rng.bernoulli(o.lateRate)
      ? rng.int(10 * 60_000, 3 * DAY_MS)
      : Math.round(rng.exponential(1500));
    drafts.push({ value, arrival: t + delay });
  };

  for (const p of o.lifetimes) {
    const latent = o.latent(p.id) ?? NO_LATENT;
    const spans = aliveIntervals(p, endMs);
    const alive = spans.reduce((s, [a, b]) => s + Math.max(0, b - a), 0);
    const rate = Math.exp(0.6 * latent.engagement - 0.18);
    const n = rng.poisson((o.perCustomer * alive * rate) / span);
    for (let k = 0; k < n && alive > 0; k++) {
      const t = timeWithin(rng, spans, alive);
      // A fading customer transacts less and less over the period (the churn signal).
      if (rng.next() >= latent.fading * ((t - startMs) / span)) add(p.id, t, latent);
    }
    if (o.perCustomer <= 0) continue;
    // The card was used before the row reached the table (or before the CDC stream delivers it).
    if (p.insertMs - 60_000 > startMs && p.insertMs > startMs + HOUR_MS && rng.bernoulli(0.25)) {
      for (let k = rng.int(1, 2); k > 0; k--) {
        add(p.id, Math.max(startMs, p.insertMs - rng.int(60_000, 3 * HOUR_MS)), latent);
        counts.beforeInsert++;
      }
    }
    // Settlements and pending card payments keep coming for a while after the account is closed.
    if (p.deleteMs !== null && rng.bernoulli(0.5)) {
      const until = Math.min(p.deleteMs + 2 * DAY_MS, p.reinsertMs ?? endMs, endMs);
      for (let k = rng.int(1, 3); k > 0 && until - p.deleteMs > 2000; k--) {
        add(p.id, rng.int(p.deleteMs + 1000, until - 1000), latent);
        counts.afterDelete++;
      }
    }
  }
  const unknown =
    o.lifetimes.length >= 20 && o.perCustomer > 0 ? Math.max(1, Math.round(drafts.length * 0.002)) : 0;
  for (let k = 0; k < unknown; k++) {
    add(o.firstUnknownId + rng.int(0, 999), rng.int(startMs, endMs - 1), NO_LATENT);
    counts.unknownCustomer++;
  }

  // Stable sort: ties keep generation order, so the result is a function of the seed alone.
  drafts.sort((a, b) => a.arrival - b.arrival);
  const latestSeen = new Map<number, number>();
  let late = 0;
  const records = drafts.map(({ value, arrival }): TransactionRecord => {
    const id = value.customer_id;
    const latest = latestSeen.get(id);
    if (latest !== undefined && value.event_time < latest) late++;
    else latestSeen.set(id, value.event_time);
    return {
      topic: 'transactions',
      partition: o.partitionOf(id),
      key: String(id),
      value,
      atMs: arrival,
      resend: null,
    };
  });
  return { records, counts: { unique: records.length, late, ...counts } };
}
