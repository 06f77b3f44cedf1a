/**
 * The synthetic churn dataset: a documented, seeded generating process (also written out in
 * models/README.md; keep the two in step). One mulberry32 stream drives everything, customers are drawn in
 * index order, so (seed, rows, asOf) fixes every byte of the data.
 *
 * Per customer, latent factors: engagement e ~ N(0,1), financial stress s ~ N(0,1), disengagement d = U³
 * (most customers ~0, a few strongly fading).
 * Profile (segment first, other fields depend on it):
 *   segment      private 4%, affluent 18%, mass 78%
 *   age          round(N(44, 15)) clamped to [18, 90]
 *   tenure       round(Exp(mean 54 months)), at most (age − 18)·12
 *   products     1 + Poisson(exp(0.1 + 0.35e + b_seg)), b = 0 / 0.4 / 0.7 (mass/affluent/private), max 8
 *   balance      exp(N(μ_seg + 0.3e, 1)), μ = 7.3 / 9.3 / 11.0, 2 decimals; overdrawn (negative,
 *                −exp(N(5, 1))) with probability 0.03 + 0.05·σ(s)
 *   credit_limit exp(N(λ_seg, 0.4)) rounded to 100, λ = 8.0 / 9.0 / 10.0
 *   utilisation  1.5·σ(−1.3 + 1.2s + N(0, 0.5)), 4 decimals (0..1.5)
 *   region       north 30%, south 25%, east 25%, west 20%
 *   created_at   asOf − tenure·30.44 days; updated_at asOf − U·90 days
 *   missing      each of age, tenure, products, credit_limit, segment 1%, balance, region 2%,
 *                utilisation 3% is null (the label still uses the true value)
 * Transactions, day by day from asOf − 60 d to asOf + 7 d: Poisson(r(t)) events per day at uniform times, with
 *   r(t) = exp(−0.2 + 0.6e) · (1 − d·ramp(t)), ramp rising linearly 0 → 1 over the 60 days, 1 after asOf.
 *   The 7 days after asOf exist on purpose: they carry the churn signal (a fading customer keeps fading), so
 *   a feature that looked past asOf would leak the label; buildVector must drop them.
 *   type debit 85% / credit 15%; channel card 60%, online 25%, atm 10%, branch 5%; mcc by channel;
 *   amount exp(N(3.3, 1)) (×3 for credits), 2 decimals, ≥ 0.01;
 *   declined (debits only) with probability σ(−4.2 + 1.3s + 2·max(0, utilisation − 0.85)).
 * Label (churn within 90 days of asOf) ~ Bernoulli(σ(z)),
 *   z = −1.6 − 0.55·ln(1 + tenure/12) − 0.45·(products − 1) + 1.3·(utilisation − 0.4)
 *       + 0.25·declines_30d + 3.2·d − 0.4e + 0.25·[mass] − 0.01·(age − 44),
 *   declines_30d = declined transactions in (asOf − 30 d, asOf].
 */
import type { Row } from '../../src/decode/types.js';
import type { EventForFeatures } from '../../src/features/index.js';

export const GENERATOR = 'streamscore-synthetic-churn/1';
const DAY = 86_400_000;
const HISTORY_DAYS = 60;
const FUTURE_DAYS = 7;

/** mulberry32: a tiny, well-mixed 32-bit PRNG; deterministic across platforms (integer ops only). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const round = (x: number, decimals: number): number => Math.round(x * 10 ** decimals) / 10 ** decimals;

class Draw {
  readonly #u: () => number;
  constructor(seed: number) {
    this.#u = mulberry32(seed);
  }
  uniform(): number {
    return this.#u();
  }
  /** Box–Muller; one draw per call (no cached twin) so the stream position is easy to reason about. */
  normal(mean = 0, sd = 1): number {
    const u1 = 1 - this.#u();
    const u2 = this.#u();
    return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  exponential(mean: number): number {
    return -Math.log(1 - this.#u()) * mean;
  }
  /** Knuth's method; fine for the small rates used here. */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.#u();
    while (p > limit) {
      k++;
      p *= this.#u();
    }
    return k;
  }
  pick<T>(options: readonly (readonly [T, number])[]): T {
    let u = this.#u();
    for (const [value, weight] of options) {
      if (u < weight) return value;
      u -= weight;
    }
    return (options[options.length - 1] as readonly [T, number])[0];
  }
  maybeNull<T>(value: T, pMissing: number): T | null {
    return this.#u() < pMissing ? null : value;
  }
}

export interface SyntheticCustomer {
  readonly id: string;
  readonly profile: Row;
  /** Includes the 7 days after asOf (see the header). */
  readonly events: EventForFeatures[];
  readonly label: 0 | 1;
}

const SEGMENTS = [
  ['private', 0.04],
  ['affluent', 0.18],
  ['mass', 0.78],
] as const;
const REGIONS = [
  ['north', 0.3],
  ['south', 0.25],
  ['east', 0.25],
  ['west', 0.2],
] as const;
const CHANNELS = [
  ['card', 0.6],
  ['online', 0.25],
  ['atm', 0.1],
  ['branch', 0.05],
] as const;
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
const SEG = {
  mass: { products: 0, balance: 7.3, limit: 8.0 },
  affluent: { products: 0.4, balance: 9.3, limit: 9.0 },
  private: { products: 0.7, balance: 11.0, limit: 10.0 },
} as const;

function customer(draw: Draw, index: number, asOfMs: number): SyntheticCustomer {
  const id = `C${String(index).padStart(7, '0')}`;
  const e = draw.normal();
  const s = draw.normal();
  const d = draw.uniform() ** 3;
  const segment = draw.pick(SEGMENTS);
  const seg = SEG[segment];
  const age = clamp(Math.round(draw.normal(44, 15)), 18, 90);
  const tenure = Math.min(Math.round(draw.exponential(54)), (age - 18) * 12);
  const products = Math.min(8, 1 + draw.poisson(Math.exp(0.1 + 0.35 * e + seg.products)));
  const overdrawn = draw.uniform() < 0.03 + 0.05 * sigmoid(s);
  const balance = overdrawn
    ? -round(Math.exp(draw.normal(5, 1)), 2)
    : round(Math.exp(draw.normal(seg.balance + 0.3 * e, 1)), 2);
  const creditLimit = Math.round(Math.exp(draw.normal(seg.limit, 0.4)) / 100) * 100;
  const utilisation = round(1.5 * sigmoid(-1.3 + 1.2 * s + draw.normal(0, 0.5)), 4);
  const region = draw.pick(REGIONS);
  const profile: Row = {
    id,
    tenure_months: draw.maybeNull(tenure, 0.01),
    age: draw.maybeNull(age, 0.01),
    products_held: draw.maybeNull(products, 0.01),
    balance: draw.maybeNull(balance, 0.02),
    credit_limit: draw.maybeNull(creditLimit, 0.01),
    utilisation: draw.maybeNull(utilisation, 0.03),
    region: draw.maybeNull(region, 0.02),
    segment: draw.maybeNull(segment, 0.01),
    created_at: asOfMs - Math.round(tenure * 30.44 * DAY),
    updated_at: asOfMs - Math.floor(draw.uniform() * 90 * DAY),
  };

  const events: EventForFeatures[] = [];
  const start = asOfMs - HISTORY_DAYS * DAY;
  const base = Math.exp(-0.2 + 0.6 * e);
  const pDecline = sigmoid(-4.2 + 1.3 * s + 2 * Math.max(0, utilisation - 0.85));
  let declines30 = 0;
  for (let day = 0; day < HISTORY_DAYS + FUTURE_DAYS; day++) {
    const ramp = Math.min(1, (day + 0.5) / HISTORY_DAYS);
    const n = draw.poisson(base * (1 - d * ramp));
    for (let j = 0; j < n; j++) {
      const t = start + day * DAY + Math.floor(draw.uniform() * DAY);
      const type = draw.uniform() < 0.85 ? 'debit' : 'credit';
      const channel = draw.pick(CHANNELS);
      const mcc =
        channel === 'atm'
          ? '6011'
          : channel === 'branch'
            ? '6010'
            : draw.pick(channel === 'card' ? CARD_MCC : ONLINE_MCC);
      const amount = Math.max(0.01, round(Math.exp(draw.normal(3.3, 1)) * (type === 'credit' ? 3 : 1), 2));
      const declined = type === 'debit' && draw.uniform() < pDecline;
      if (declined && t > asOfMs - 30 * DAY && t <= asOfMs) declines30++;
      const txnId = `T${id.slice(1)}-${String(events.length).padStart(4, '0')}`;
      events.push({
        eventId: txnId,
        eventTimeMs: t,
        fields: { txn_id: txnId, customer_id: id, amount, type, channel, mcc, declined, event_time: t },
      });
    }
  }

  const z =
    -1.6 -
    0.55 * Math.log1p(tenure / 12) -
    0.45 * (products - 1) +
    1.3 * (utilisation - 0.4) +
    0.25 * declines30 +
    3.2 * d -
    0.4 * e +
    (segment === 'mass' ? 0.25 : 0) -
    0.01 * (age - 44);
  const label = draw.uniform() < sigmoid(z) ? 1 : 0;
  return { id, profile, events, label };
}

/** Customers 0..rows-1 in order; a generator so a run never holds every transaction in memory. */
export function* generateCustomers(seed: number, rows: number, asOfMs: number): Generator<SyntheticCustomer> {
  const draw = new Draw(seed);
  for (let i = 0; i < rows; i++) yield customer(draw, i, asOfMs);
}
