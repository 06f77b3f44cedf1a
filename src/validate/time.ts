/**
 * Is an epoch-millis time plausible? Not before a floor, not further past the record's own Kafka timestamp
 * than an allowed skew, and in the declared unit: a value that only makes sense read as seconds, micro- or
 * nanoseconds is named as such rather than trusted (1.7e9 "ms" is January 1970; 1.7e15 is the year 55 000).
 */
import type { DlqReason } from '../errors/index.js';
import { describeMs } from './contract.js';

export interface TimeRule {
  readonly notBefore: number;
  readonly maxFutureSkewMs: number;
}

export interface Problem {
  readonly code: DlqReason;
  readonly message: string;
}

/** ISO text for any number: Date cannot format beyond ±8.64e15 ms. */
export function isoOf(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * The reference a record's time is judged against: when it was produced (its Kafka timestamp), but never
 * later than now (a producer with a clock in the future does not widen the window).
 */
export function referenceMs(recordTimestamp: string, nowMs: number): number {
  const ts = Number(recordTimestamp);
  return Number.isFinite(ts) && ts > 0 ? Math.min(ts, nowMs) : nowMs;
}

export function timeProblem(ms: number, refMs: number, rule: TimeRule, what: string): Problem | null {
  // the common case first, with nothing allocated: this runs for every time field of every record
  const limit = refMs + rule.maxFutureSkewMs;
  if (ms >= rule.notBefore && ms <= limit && Number.isFinite(ms)) return null;
  const unrepresentable: Problem = {
    code: 'SS_TIME_RANGE',
    message: `${what} ${String(ms)} is not a representable time`,
  };
  if (!Number.isFinite(ms)) return unrepresentable;
  const plausible = (v: number) => v >= rule.notBefore && v <= limit;
  if (ms < rule.notBefore && ms > 0 && plausible(ms * 1000)) {
    return {
      code: 'SS_TIME_UNIT',
      message: `${what} ${ms} reads as epoch seconds (${isoOf(ms * 1000)}), but milliseconds are declared`,
    };
  }
  if (ms > limit) {
    for (const [factor, unit] of [
      [1000, 'microseconds'],
      [1_000_000, 'nanoseconds'],
    ] as const) {
      if (plausible(Math.trunc(ms / factor))) {
        return {
          code: 'SS_TIME_UNIT',
          message: `${what} ${ms} reads as epoch ${unit} (${isoOf(Math.trunc(ms / factor))}), but milliseconds are declared`,
        };
      }
    }
    if (!Number.isSafeInteger(Math.trunc(ms))) return unrepresentable;
    return {
      code: 'SS_TIME_RANGE',
      message: `${what} ${isoOf(ms)} is ${describeMs(ms - refMs)} after the record was produced (${isoOf(refMs)}); the contract allows ${describeMs(rule.maxFutureSkewMs)}`,
    };
  }
  if (!Number.isSafeInteger(Math.trunc(ms))) return unrepresentable;
  return {
    code: 'SS_TIME_RANGE',
    message: `${what} ${isoOf(ms)} is before the contract's floor ${isoOf(rule.notBefore)}`,
  };
}
