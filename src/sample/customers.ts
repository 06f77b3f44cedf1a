/**
 * Rows of the sample `customers` table and how they change. The distributions follow the training data's
 * generating process (scripts/train/synthetic.ts, models/README.md) so the demo model sees inputs like the
 * ones it was fitted on; on top of that the rows carry what real tables have and training ignores:
 * edge-case decimals, birth dates before 1970, missing values appearing and disappearing.
 */
import type { Random } from './random.js';
import type { CustomerRow, Region, Segment } from './types.js';

export const DAY_MS = 86_400_000;
const MONTH_MS = 30.44 * DAY_MS;
const YEAR_MS = 365.25 * DAY_MS;
/** numeric(12,2). */
const MAX_DECIMAL = 9_999_999_999.99;

/** Per-customer latent factors (engagement, financial stress, disengagement), as in the training data. */
export interface Latent {
  readonly engagement: number;
  readonly stress: number;
  readonly fading: number;
}

const SEGMENTS: readonly (readonly [Segment, number])[] = [
  ['private', 0.04],
  ['affluent', 0.18],
  ['mass', 0.78],
];
const REGIONS: readonly (readonly [Region, number])[] = [
  ['north', 0.3],
  ['south', 0.25],
  ['east', 0.25],
  ['west', 0.2],
];
const SEG = {
  mass: { products: 0, balance: 7.3, limit: 8.0 },
  affluent: { products: 0.4, balance: 9.3, limit: 9.0 },
  private: { products: 0.7, balance: 11.0, limit: 10.0 },
} as const;
/** Values that break naive decimal handling: zero, one cent either side, the column's extremes. */
const EDGE_BALANCES = [
  0, -0.01, 0.01, 1234.56, 9_999_999_999.99, -9_999_999_999.99, 100_000_000, -123_456.78,
];

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
/** Rounds to `decimals` places; never returns -0 (it would not survive a decimal round trip). */
const round = (x: number, decimals: number): number => Math.round(x * 10 ** decimals) / 10 ** decimals + 0;
const money = (x: number): number => round(clamp(x, -MAX_DECIMAL, MAX_DECIMAL), 2);

export function drawLatent(rng: Random): Latent {
  return { engagement: rng.normal(), stress: rng.normal(), fading: rng.next() ** 3 };
}

function maybeNull<T>(rng: Random, value: T, pMissing: number): T | null {
  return rng.bernoulli(pMissing) ? null : value;
}

function drawBalance(rng: Random, segment: Segment, latent: Latent): number {
  if (rng.bernoulli(0.01)) return rng.pick(EDGE_BALANCES);
  if (rng.bernoulli(0.005)) return money(Math.exp(rng.normal(17, 1.5))); // a few very wealthy customers
  if (rng.bernoulli(0.03 + 0.05 * sigmoid(latent.stress))) return money(-Math.exp(rng.normal(5, 1)));
  return money(Math.exp(rng.normal(SEG[segment].balance + 0.3 * latent.engagement, 1)));
}

function drawUtilisation(rng: Random, latent: Latent): number {
  return round(1.5 * sigmoid(-1.3 + 1.2 * latent.stress + rng.normal(0, 0.5)), 4);
}

function drawCreditLimit(rng: Random, segment: Segment): number {
  return money(Math.round(Math.exp(rng.normal(SEG[segment].limit, 0.4)) / 100) * 100);
}

/**
 * A new row. `existing` rows were in the table before the stream starts (tenure drawn, last updated up to 90
 * days ago); the others are opened at `atMs` (tenure 0, created and updated now).
 */
export function newCustomer(
  rng: Random,
  id: number,
  atMs: number,
  latent: Latent,
  existing: boolean,
): CustomerRow {
  const segment = rng.weighted(SEGMENTS);
  const age = clamp(Math.round(rng.normal(44, 15)), 18, 90);
  const tenure = existing ? Math.min(Math.round(rng.exponential(54)), (age - 18) * 12) : 0;
  const products = Math.min(
    8,
    1 + rng.poisson(Math.exp(0.1 + 0.35 * latent.engagement + SEG[segment].products)),
  );
  const createdAt = existing
    ? atMs - Math.round(tenure * MONTH_MS) - rng.int(0, DAY_MS - 1)
    : atMs - rng.int(0, 50);
  const updatedAt = existing ? Math.max(createdAt, atMs - Math.floor(rng.next() * 90 * DAY_MS)) : createdAt;
  const birth = Math.floor((atMs - age * YEAR_MS - rng.next() * YEAR_MS) / DAY_MS) * DAY_MS;
  return {
    id,
    tenure_months: maybeNull(rng, tenure, 0.01),
    age: maybeNull(rng, age, 0.01),
    products_held: maybeNull(rng, products, 0.01),
    balance: maybeNull(rng, drawBalance(rng, segment, latent), 0.02),
    credit_limit: maybeNull(rng, drawCreditLimit(rng, segment), 0.01),
    utilisation: maybeNull(rng, drawUtilisation(rng, latent), 0.03),
    region: maybeNull(rng, rng.weighted(REGIONS), 0.02),
    segment: maybeNull(rng, segment, 0.01),
    created_at: createdAt,
    updated_at: existing && rng.bernoulli(0.01) ? null : updatedAt,
    birth_date: maybeNull(rng, birth, 0.02),
  };
}

type MutableRow = { -readonly [K in keyof CustomerRow]: CustomerRow[K] };

/** The row as the application writes it back at `atMs`: updated_at stamped, tenure caught up. */
function touched(row: CustomerRow, atMs: number): MutableRow {
  // Spelled out rather than spread: V8 builds spread objects an order of magnitude slower.
  return {
    id: row.id,
    tenure_months: tenureAt(row, atMs),
    age: row.age,
    products_held: row.products_held,
    balance: row.balance,
    credit_limit: row.credit_limit,
    utilisation: row.utilisation,
    region: row.region,
    segment: row.segment,
    created_at: row.created_at,
    updated_at: atMs,
    birth_date: row.birth_date,
  };
}

function tenureAt(row: CustomerRow, atMs: number): number | null {
  if (row.tenure_months === null || row.created_at === null) return row.tenure_months;
  return Math.max(row.tenure_months, Math.floor((atMs - row.created_at) / MONTH_MS));
}

/** What an application's UPDATE of one customer changes; always stamps updated_at with the commit time. */
export function updateCustomer(rng: Random, row: CustomerRow, atMs: number, latent: Latent): CustomerRow {
  const segment: Segment = row.segment ?? 'mass';
  const next = touched(row, atMs);
  const what = rng.weighted([
    ['balance', 0.55],
    ['utilisation', 0.2],
    ['products', 0.1],
    ['limit', 0.07],
    ['segment', 0.03],
    ['region', 0.02],
    ['fill', 0.03],
  ] as const);
  switch (what) {
    case 'balance': {
      const b = row.balance ?? drawBalance(rng, segment, latent);
      next.balance = money(b + rng.normal(0, Math.abs(b) * 0.08 + 150));
      if (rng.bernoulli(0.3)) next.utilisation = drawUtilisation(rng, latent);
      break;
    }
    case 'utilisation':
      next.utilisation = drawUtilisation(rng, latent);
      break;
    case 'products':
      next.products_held = clamp((row.products_held ?? 1) + (rng.bernoulli(0.5) ? 1 : -1), 1, 8);
      break;
    case 'limit':
      next.credit_limit = rng.bernoulli(0.05) ? null : drawCreditLimit(rng, segment);
      break;
    case 'segment':
      next.segment = rng.weighted(SEGMENTS);
      break;
    case 'region':
      next.region = rng.bernoulli(0.1) ? null : rng.weighted(REGIONS);
      break;
    case 'fill':
      // Back-office data cleansing: a missing value is filled in, or a wrong one cleared.
      if (row.age === null) next.age = clamp(Math.round(rng.normal(44, 15)), 18, 90);
      else if (row.balance === null) next.balance = drawBalance(rng, segment, latent);
      else
        next.birth_date =
          row.birth_date === null ? Math.floor((atMs - 40 * YEAR_MS) / DAY_MS) * DAY_MS : null;
      break;
  }
  return next;
}

/** The nightly interest run: one multi-row transaction touching many balances. */
export function accrueInterest(row: CustomerRow, atMs: number): CustomerRow {
  const next = touched(row, atMs);
  if (row.balance !== null) next.balance = money(row.balance * (1 + (row.balance < 0 ? 0.0006 : 0.0001)));
  return next;
}

/** A delete's `before` with the table's default replica identity: the primary key, every other column null. */
export function keyOnly(id: number): CustomerRow {
  return {
    id,
    tenure_months: null,
    age: null,
    products_held: null,
    balance: null,
    credit_limit: null,
    utilisation: null,
    region: null,
    segment: null,
    created_at: null,
    updated_at: null,
    birth_date: null,
  };
}
