/**
 * What the large-state benchmarks (bench:rebuild, bench:rescore) share: services up, a bench env of their
 * own, the input topics prefilled by the benchmark's generator in a worker, and (unless told not to) the
 * group committed at their end (as if a pipeline had consumed everything).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, ConfigInput } from '../src/config/index.js';
import { BenchEnv } from './env.js';
import { runWorker } from './proc.js';
import { ensureServices } from './services.js';

export interface PrefilledState {
  readonly env: BenchEnv;
  readonly startedAt: string;
  readonly out: string;
  readonly prefill: { readonly cdc: number; readonly transactions: number; readonly customers: number };
  /** The config of the run, its group committed at the end of both input topics. */
  readonly config: Readonly<Config>;
}

export async function prefilledState(
  name: string,
  opts: {
    records: number;
    txPerCustomer: number;
    seed: number;
    config?: ConfigInput;
    /** Commit the run's group at the end of both topics (default); false leaves them to be drained. */
    commitEnd?: boolean;
  },
  log: (s: string) => void,
): Promise<PrefilledState> {
  await ensureServices(log);
  const startedAt = new Date().toISOString();
  const env = await BenchEnv.create(`bench-${startedAt.replace(/[-:T.Z]/g, '').slice(0, 14)}`, 6);
  const out = 'bench/results';
  mkdirSync(out, { recursive: true });
  try {
    log(`prefill: ${opts.records.toLocaleString('en-US')} records (tx per customer ${opts.txPerCustomer})`);
    const { result: prefill } = await runWorker<PrefilledState['prefill']>(
      join('dist/bench/workers', 'prefill.js'),
      {
        config: env.config('prefill'),
        records: opts.records,
        partitions: env.partitions,
        seed: opts.seed,
        transactionsPerCustomer: opts.txPerCustomer,
        aliveFile: join(out, `${name}-alive-ids.raw.json`),
      },
      // the generator holds the whole stream: a million customers need more than the default heap
      { nodeArgs: ['--max-old-space-size=16384'] },
    );
    const config = env.config(name, { observe: { logLevel: 'warn' }, ...opts.config });
    if (opts.commitEnd !== false)
      for (const topic of [env.topics.cdc, env.topics.transactions])
        await env.commitEnd(config.consumer.groupId, topic);
    return { env, startedAt, out, prefill, config };
  } catch (err) {
    await env.close(false);
    throw err;
  }
}

/** Writes a report to bench/results/<date>-<name>-<records>.md and prints it. */
export function writeReport(
  state: Pick<PrefilledState, 'out' | 'startedAt'>,
  name: string,
  records: number,
  lines: readonly string[],
  log: (s: string) => void,
): void {
  const file = join(state.out, `${state.startedAt.slice(0, 10)}-${name}-${records}.md`);
  writeFileSync(file, lines.join('\n'));
  log(lines.join('\n'));
  log(`written to ${file}`);
}
