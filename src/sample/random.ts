/**
 * A small seeded PRNG for the sample domain. mulberry32 (the same generator scripts/train uses): 32-bit
 * integer state and integer ops only, so a seed gives the same stream on every platform and Node version.
 * Not for anything security-related.
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Random {
  #state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.#state = Math.trunc(seed) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max < min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Box–Muller, one draw per call (no cached twin), so the stream position is easy to reason about. */
  normal(mean = 0, sd = 1): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Knuth's method for small rates, a rounded normal approximation above 30 (Knuth underflows there). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of `options` with probability proportional to its weight. */
  weighted<T>(options: readonly (readonly [T, number])[]): T {
    if (options.length === 0) throw new RangeError('weighted pick from an empty list');
    let total = 0;
    for (const [, w] of options) total += w;
    let u = this.next() * total;
    for (const [value, weight] of options) {
      if (u < weight) return value;
      u -= weight;
    }
    return (options[options.length - 1] as readonly [T, number])[0];
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A version-4 UUID drawn from this stream (deterministic, unlike crypto.randomUUID). */
  uuid(): string {
    const a = this.#u32();
    const b = this.#u32();
    const c = this.#u32();
    const d = this.#u32();
    const x = (v: number, shift: number): string => HEX[(v >>> shift) & 0xff]!;
    return (
      `${x(a, 24)}${x(a, 16)}${x(a, 8)}${x(a, 0)}-${x(b, 24)}${x(b, 16)}-` +
      `${HEX[0x40 | ((b >>> 8) & 0x0f)]}${x(b, 0)}-${HEX[0x80 | ((c >>> 24) & 0x3f)]}${x(c, 16)}-` +
      `${x(c, 8)}${x(c, 0)}${x(d, 24)}${x(d, 16)}${x(d, 8)}${x(d, 0)}`
    );
  }

  #u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** An independent stream derived from this one, so adding draws to one part does not shift another. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 32));
  }
}
