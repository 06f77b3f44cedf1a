/**
 * What every worker process shares: its spec comes as one JSON argument, its result goes out as the last
 * stdout line `RESULT {...}`, and a failure exits non-zero with the error on stderr.
 */
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';

export function readSpec<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: node <worker>.js <spec json>');
  return JSON.parse(raw) as T;
}

/** A config the driver already validated, validated again here (defaults applied, frozen). */
export function configOf(raw: unknown): Readonly<Config> {
  return parseConfig(raw, {});
}

export function report(result: Record<string, unknown>): void {
  const usage = process.resourceUsage();
  const self = {
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    maxRssMb: usage.maxRSS / 1024,
  };
  process.stdout.write(`RESULT ${JSON.stringify({ ...result, self })}\n`);
}

export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
