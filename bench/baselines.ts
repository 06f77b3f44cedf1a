/**
 * The limits streamscore is measured against, each in its own process on the same prefilled topics:
 * Kafka's own consumer (broker read limit), a bare kafkajs consumer (client limit), redis-benchmark and the
 * project's upsert path (Redis write limit), and the naive per-record processor.
 */
import { join } from 'node:path';
import { predictionHashFields } from '../src/sink/index.js';
import type { ConsumerSettings } from './build-settings.js';
import type { BenchEnv } from './env.js';
import { runWorker, startChild } from './proc.js';
import type { Child, ProcSampler } from './proc.js';
import type { ServiceCost, SystemResult } from './types.js';

export interface Services {
  readonly broker: ProcSampler | null;
  readonly redis: ProcSampler | null;
}

export function serviceCost(s: Services, t0: number, t1: number): ServiceCost {
  return {
    brokerCpuSeconds: s.broker?.cpuBetween(t0, t1) ?? null,
    redisCpuSeconds: s.redis?.cpuBetween(t0, t1) ?? null,
  };
}

interface WorkerTimes {
  readonly records: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

const WORKERS = join(import.meta.dirname, 'workers');

/** A SystemResult from a worker that reported its first and last record instants. */
function fromWorker(
  base: Pick<SystemResult, 'id' | 'name' | 'work' | 'notes'>,
  r: WorkerTimes,
  child: Child,
  services: Services,
): SystemResult {
  const seconds = Math.max(0.001, (r.lastAt - r.firstAt) / 1000);
  return {
    ...base,
    records: r.records,
    seconds,
    wallSeconds: (r.lastAt - child.startedAt) / 1000,
    recordsPerSec: r.records / seconds,
    cost: child.sampler.cost(r.firstAt, r.lastAt),
    services: serviceCost(services, r.firstAt, r.lastAt),
  };
}

/** Local wall-clock time as ConsumerPerformance prints it (yyyy-MM-dd HH:mm:ss:SSS). */
function parseJavaTime(s: string): number {
  const m = /(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+):(\d+)/.exec(s);
  if (m === null) return Number.NaN;
  const [y, mo, d, h, mi, se, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(y, mo - 1, d, h, mi, se, ms).getTime();
}

/**
 * Broker read limit: org.apache.kafka.tools.ConsumerPerformance (kafka-tools, from Maven Central), once per
 * input topic (it reads one topic), same fetch size per partition as streamscore. Rate = records / fetch time
 * (its join time excluded, as for the others); CPU over the fetch spans of the JVMs.
 */
export async function brokerLimit(
  env: BenchEnv,
  fetchBytes: number,
  services: Services,
  logFile: string,
): Promise<SystemResult> {
  let records = 0;
  let fetchMs = 0;
  let cpu = 0;
  let cpuTotal = 0;
  let peak = 0;
  let broker = 0;
  let redis = 0;
  let wall = 0;
  for (const topic of [env.topics.cdc, env.topics.transactions]) {
    const n = await env.topicSize(topic);
    const c = startChild(
      'java',
      [
        '-Xmx1g',
        '-cp',
        '.cache/kafka-4.1.1/lib/*',
        'org.apache.kafka.tools.ConsumerPerformance',
        '--bootstrap-server',
        env.config('broker').kafka.brokers.join(','),
        '--topic',
        topic,
        '--messages',
        String(n),
        '--group',
        env.group(`broker-${topic.slice(env.prefix.length)}`),
        '--fetch-size',
        String(fetchBytes),
        '--timeout',
        '60000',
      ],
      { logFile },
    );
    const code = await c.exited;
    if (code !== 0)
      throw new Error(`ConsumerPerformance exited with ${code}:\n${c.lines.slice(-20).join('\n')}`);
    // start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    const row = c.lines.find((l) => /^\d{4}-\d\d-\d\d .*,/.test(l));
    if (row === undefined) throw new Error(`ConsumerPerformance printed no result:\n${c.lines.join('\n')}`);
    const cols = row.split(',').map((s) => s.trim());
    const start = parseJavaTime(cols[0] as string);
    const end = parseJavaTime(cols[1] as string);
    const rebalanceMs = Number(cols[6]);
    const fetch = Number(cols[7]);
    records += Number(cols[4]);
    fetchMs += fetch;
    const from = end - fetch;
    cpu += c.sampler.cpuBetween(from, end);
    cpuTotal += c.sampler.cpuSecondsTotal;
    peak = Math.max(peak, c.sampler.peakRssMb);
    broker += services.broker?.cpuBetween(from, end) ?? 0;
    redis += services.redis?.cpuBetween(from, end) ?? 0;
    wall += (end - c.startedAt) / 1000;
    if (!Number.isFinite(start + rebalanceMs))
      throw new Error(`cannot read ConsumerPerformance output: ${row}`);
  }
  const seconds = fetchMs / 1000;
  return {
    id: 'broker',
    name: 'Broker read limit (kafka ConsumerPerformance)',
    work: 'Java consumer, no processing',
    records,
    seconds,
    wallSeconds: wall,
    recordsPerSec: records / seconds,
    cost: { cpuSeconds: cpu, cpuSecondsTotal: cpuTotal, peakRssMb: peak },
    services: {
      brokerCpuSeconds: services.broker ? broker : null,
      redisCpuSeconds: services.redis ? redis : null,
    },
    notes: [
      'one topic at a time (the tool reads one topic); rate over its fetch time; JVM start-up and JIT excluded from CPU',
    ],
  };
}

/** The bare kafkajs consumer, with the consumer options streamscore's input adapter uses (`settings`). */
export async function clientLimit(
  env: BenchEnv,
  expected: number,
  settings: ConsumerSettings,
  services: Services,
  logFile: string,
): Promise<SystemResult> {
  const { groupId: _ignored, ...consumerOptions } = settings.consumer;
  const concurrency = Number(settings.run['partitionsConsumedConcurrently'] ?? 1);
  const { result, child } = await runWorker<WorkerTimes>(
    join(WORKERS, 'client.js'),
    {
      config: env.config('client'),
      group: env.group('client'),
      expected,
      timeoutMs: 20 * 60_000,
      consumerOptions,
      partitionsConsumedConcurrently: concurrency,
    },
    { logFile },
  );
  if (result.records < expected)
    throw new Error(`the bare client read ${result.records} of ${expected} records`);
  return fromWorker(
    {
      id: 'client',
      name: 'Client limit (bare kafkajs)',
      work: 'kafkajs eachBatch, streamscore fetch settings, no decode, no work',
      notes: [
        `consumer options as streamscore's createInputConsumer passes them: minBytes ${String(consumerOptions['minBytes'])}, maxBytes ${String(consumerOptions['maxBytes'])}, maxBytesPerPartition ${String(consumerOptions['maxBytesPerPartition'])}, maxWaitTimeInMs ${String(consumerOptions['maxWaitTimeInMs'])}, read_committed ${String(consumerOptions['readUncommitted'] === false)}; partitionsConsumedConcurrently ${concurrency}`,
      ],
    },
    result,
    child,
    services,
  );
}

/** redis-benchmark, pipelined (-P 16), HSET of a prediction-shaped hash (the fields streamscore writes). */
export async function redisBenchmark(
  env: BenchEnv,
  requests: number,
  services: Services,
  logFile: string,
): Promise<SystemResult> {
  const cfg = env.config('redis-benchmark');
  const url = new URL(cfg.redis.url);
  const fields = predictionHashFields(
    {
      entityId: '__rand_int__',
      kind: 'upsert',
      score: 0.4312,
      tier: 'medium',
      features: new Float32Array(Array.from({ length: 16 }, (_, i) => Math.sin(i) * 2.5)),
      asOfMs: Date.now(),
      scoredAtMs: Date.now(),
      validUntilMs: Date.now() + 86_400_000,
      batchId: `churn:${env.topics.transactions}:3:1200-6199`,
      trigger: { topic: env.topics.transactions, partition: 3, offset: '6199' },
      basis: {},
    },
    7,
    {
      name: 'churn',
      version: '2',
      sha256: 'f'.repeat(64),
      trainingRunId: 'bench',
      featureVersion: 'churn-features@2',
    },
  );
  const key = `${env.keyPrefix('redis-benchmark')}{churn:__rand_int__}`;
  const t0 = Date.now();
  const c = startChild(
    'redis-benchmark',
    [
      '-h',
      url.hostname,
      '-p',
      url.port || '6379',
      '-n',
      String(requests),
      '-P',
      '16',
      '-c',
      '4',
      '-r',
      '100000',
      '--csv',
      'HSET',
      key,
      ...fields,
    ],
    { logFile },
  );
  const code = await c.exited;
  const t1 = Date.now();
  if (code !== 0) throw new Error(`redis-benchmark exited with ${code}: ${c.lines.slice(-5).join('\n')}`);
  const row = c.lines.find((l) => l.startsWith('"HSET'));
  // the command column quotes the arguments as they are (the prediction's JSON has quotes and commas), so
  // read the numbers from the end: rps, then six latency columns
  const rps = Number(/"([\d.]+)"(?:,"[\d.]+"){6}$/.exec(row ?? '')?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`cannot read redis-benchmark output: ${c.lines.join('\n')}`);
  await env.deleteKeys('redis-benchmark');
  return {
    id: 'redis-hset',
    name: 'Redis write limit (redis-benchmark)',
    work: `HSET of a ${fields.length / 2}-field prediction hash, -P 16, 4 connections`,
    records: requests,
    seconds: requests / rps,
    wallSeconds: (t1 - t0) / 1000,
    recordsPerSec: rps,
    cost: null,
    services: serviceCost(services, t0, t1),
    notes: [
      'its client CPU (redis-benchmark, C) is not reported; the Redis server CPU is in the last column',
    ],
  };
}

/** The project's upsert path: RedisSink.write, fenced Lua writes pipelined per window. */
export async function upsertPath(
  env: BenchEnv,
  predictions: number,
  batch: number,
  services: Services,
  logFile: string,
): Promise<SystemResult> {
  const { result, child } = await runWorker<WorkerTimes>(
    join(WORKERS, 'upsert.js'),
    { config: env.config('upsert'), predictions, entities: 100_000, batch, concurrency: 4, width: 16 },
    { logFile },
  );
  await env.deleteKeys('upsert');
  return fromWorker(
    {
      id: 'redis-upsert',
      name: 'Redis upsert path (RedisSink.write)',
      work: `compare-and-set of entity state + prediction (COMMIT script), ${batch} per pipelined round trip, 4 in flight`,
      notes: [
        'synthetic predictions on a state read once and then cached; the Redis write of a window only (no decode, features or Kafka)',
      ],
    },
    result,
    child,
    services,
  );
}

export async function naive(
  env: BenchEnv,
  expected: number,
  maxSeconds: number,
  services: Services,
  logFile: string,
): Promise<SystemResult> {
  const { result, child } = await runWorker<WorkerTimes & { scored: number }>(
    join(WORKERS, 'naive.js'),
    {
      config: env.config('naive'),
      group: env.group('naive'),
      outputTopic: env.topics.naivePredictions,
      expected,
      maxSeconds,
    },
    { logFile },
  );
  const capped = result.records < expected;
  return fromWorker(
    {
      id: 'naive',
      name: 'Naive processor',
      work: 'eachMessage; per record: decode, features, 1 ONNX run, 1 Redis HSET, 1 produce; auto-commit',
      notes: [
        ...(capped
          ? [
              `stopped after ${maxSeconds} s: ${result.records} of ${expected} records, from the start of the same topics`,
            ]
          : []),
        `${result.scored} records scored (the rest: no profile yet, tombstones)`,
        'feature state in process memory (no Redis state, no fencing, no transactions): cheaper than streamscore per record',
      ],
    },
    result,
    child,
    services,
  );
}
