/**
 * What the large-state benchmarks (bench:rebuild, bench:rescore, bench:timers) share: services up, a bench env of their
 * own, the input topics prefilled by the benchmark's generator in a worker, and (unless told not to) the
 * group committed at their end (as if a pipeline had consumed everything).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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

/** The options every large-state benchmark takes (`--chunk` only where `withChunk`). */
export interface LargeStateArgs {
  readonly records: number;
  readonly txPerCustomer: number;
  readonly chunk: number;
  readonly seed: number;
  readonly keep: boolean;
}

/** Parses --records, --tx-per-customer, --seed, --keep (and --chunk); null after printing what is wrong. */
export function largeStateArgs(
  name: string,
  defaults: { records: number; withChunk?: boolean },
  log: (s: string) => void,
): LargeStateArgs | null {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: String(defaults.records) },
      'tx-per-customer': { type: 'string', default: '1' },
      ...(defaults.withChunk === true ? { chunk: { type: 'string', default: '500' } } : {}),
      seed: { type: 'string', default: '42' },
      keep: { type: 'boolean', default: false },
    },
  });
  const args = {
    records: Number(values.records),
    txPerCustomer: Number(values['tx-per-customer']),
    chunk: Number(values.chunk ?? 500),
    seed: Number(values.seed),
    keep: values.keep === true,
  };
  if (
    !Number.isInteger(args.records) ||
    args.records <= 0 ||
    !Number.isFinite(args.txPerCustomer) ||
    args.txPerCustomer < 0 ||
    !Number.isInteger(args.chunk) ||
    args.chunk < 1
  ) {
    log(
      `bench:${name}: --records${defaults.withChunk === true ? ' and --chunk must be positive integers' : ' must be a positive integer'}, --tx-per-customer a number >= 0`,
    );
    return null;
  }
  return args;
}

/** Runs a benchmark's main and exits with its code (1 with the stack when it throws). */
export function runBench(name: string, main: () => Promise<number>, log: (s: string) => void): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`bench:${name} failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
