/**
 * Results → `latest.json` (everything measured), `latest.md` (tables, plus a summary block for the README's
 * performance section) and `latest.svg` (chart.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg } from './chart.js';
import { fmt } from './latency.js';
import { PER_RECORD_HEAD, drainsMarkdown, perRecordCells } from './report-drains.js';
import { fixed, int, table } from './markdown.js';
import type {
  BenchResults,
  LatencyStep,
  StreamscoreRun,
  SweepResult,
  SystemResult,
  WindowSettings,
} from './types.js';

const perM = (seconds: number | null | undefined, records: number) =>
  seconds === null || seconds === undefined || records === 0 ? null : (seconds / records) * 1e6;

function systemRow(s: SystemResult): string[] {
  return [
    s.id.startsWith('streamscore') ? `**${s.name}**` : s.name,
    s.work,
    int(s.records),
    `**${int(s.recordsPerSec)}**`,
    fixed(perM(s.cost?.cpuSeconds, s.records), 1),
    fixed(s.cost?.peakRssMb, 0),
    fixed(perM(s.services.brokerCpuSeconds, s.records), 1),
    fixed(perM(s.services.redisCpuSeconds, s.records), 1),
  ];
}

function windowText(w: WindowSettings): string {
  const min = w.minBytes >= 1048576 ? `${(w.minBytes / 1048576).toFixed(0)} MiB` : `${w.minBytes} B`;
  return `${w.maxRecords} / ${(w.maxBytes / 1048576).toFixed(0)} MiB / ${w.maxDelayMs} ms / ${min}`;
}

function latencyRow(s: LatencyStep): string[] {
  return [
    windowText(s.window),
    s.label,
    int(s.achievedRate),
    fmt(s.redis),
    `${int(s.redis.count)} (${Math.round(s.redisSampleShare * 100)}%)`,
    fmt(s.kafka),
    int(s.kafka.count),
    s.keptUp ? 'yes' : '**no**',
    fixed(s.cpuSecondsPerMillion, 1),
    fixed(s.cpuSecondsPerMillionDrained ?? null, 1),
    fixed(s.rssMb, 0),
  ];
}

/** The short block for the README's performance section: date, machine, command, headline numbers. */
export function readmeSummary(r: BenchResults): string {
  const m = r.machine;
  const ss = r.streamscore;
  const row = (s: SystemResult) => [
    s.name,
    int(s.recordsPerSec),
    fixed(perM(s.cost?.cpuSeconds, s.records), 1),
    fixed(s.cost?.peakRssMb, 0),
  ];
  const step = (rate: number) =>
    r.latency.find(
      (l) =>
        l.targetRate === rate &&
        !l.label.startsWith('saturation') &&
        l.window.maxDelayMs === ss?.window.maxDelayMs,
    );
  const lat = [2000, 10000].map((rate) => step(rate)).filter((l): l is LatencyStep => l !== undefined);
  const drains = r.systems.filter((s): s is StreamscoreRun => 'perRecord' in s);
  const cmp = r.comparison;
  return [
    `Latest run: ${r.startedAt.slice(0, 10)}, ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(0)} GiB, Node ${m.node}; Kafka, registry and Redis on the same shared box. \`${r.command}\`, ${int(r.prefill.records)} Avro records (${fixed(r.prefill.avgRecordBytes, 0)} B avg) over ${String(r.options.partitions)} partitions. Full tables: \`bench/results/latest.md\`.`,
    '',
    table(['system', 'records/s', 'CPU s / M records', 'peak RSS MB'], r.systems.map(row)),
    '',
    drains.length === 0
      ? ''
      : `${table(
          ['streamscore drain', 'records/s', ...PER_RECORD_HEAD],
          drains.map((d) => [`${d.name} (${d.order})`, int(d.recordsPerSec), ...perRecordCells(d)]),
        )}\n`,
    cmp === null
      ? ''
      : `Against ${cmp.old.build} in the same run (median of ${cmp.current.runs} drains each, alternating${Number(r.options['warmup'] ?? 0) > 0 ? `, after ${String(r.options['warmup'])} unmeasured warm-up drain(s)` : ''}): records/s ${fixed(cmp.ratio.recordsPerSec, 2)}×, Node CPU per record ${fixed(cmp.ratio.nodeUs, 2)}×, Redis ${fixed(cmp.ratio.redisUs, 2)}×, broker ${fixed(cmp.ratio.brokerUs, 2)}×, box ${fixed(cmp.ratio.boxUs, 2)}×.\n`,
    ss === null
      ? ''
      : `streamscore (exactly-once) is ${fixed(r.ratios.client, 2)}× the bare kafkajs client, ${fixed(r.ratios.broker, 2)}× Kafka's own consumer and ${fixed(r.ratios.naive, 1)}× the naive per-record processor.` +
        lat
          .map(
            (l) =>
              ` At ${int(l.targetRate)} events/s: event → Redis p50/p99 ${fmt(l.redis).replace(/\/[^/]* ms$/, ' ms')}${l.keptUp ? '' : ' (not sustained)'}.`,
          )
          .join(''),
    '',
  ].join('\n');
}

export function markdown(r: BenchResults): string {
  const m = r.machine;
  const p = r.prefill;
  const out: string[] = [];
  const ss = r.streamscore;
  out.push(
    `# streamscore benchmark — ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB RAM, Node ${m.node}, Linux ${m.kernel}; Kafka 4.1.1 (KRaft, one broker), Apicurio 3.0.9, Redis 7 — all on the same box, which other processes share: compare ratios, not absolutes.`,
    '',
    `Command: \`${r.command}\``,
    '',
    ...(r.options.bin === 'bin/streamscore.js'
      ? []
      : [`**streamscore ran from \`${String(r.options.bin)}\`, not from this tree's build.**`, '']),
    `Data: ${int(p.records)} records prefilled before any timing (${int(p.cdc)} Debezium CDC changes of ${int(p.customers)} customers, ${int(p.transactions)} card transactions; Avro, ${fixed(p.avgRecordBytes, 0)} bytes of key+value on average), seed ${String(r.options.seed)}, ${String(r.options.partitions)} partitions per input topic; prefill took ${fixed(p.seconds, 0)} s.`,
    '',
    '![throughput and latency](latest.svg)',
    '',
    '## Summary (for the README)',
    '',
    readmeSummary(r),
    '## Throughput, same data, one process each',
    '',
    table(
      [
        'system',
        'work per record',
        'records',
        'records/s',
        'CPU s / M records',
        'peak RSS MB',
        'broker CPU s / M',
        'Redis CPU s / M',
      ],
      r.systems.map(systemRow),
    ),
    '',
    "Records/s: consumer group joined → last record done, for every system (process start-up excluded; ConsumerPerformance: its fetch time). CPU: the process's utime+stime over that span; broker/Redis CPU: what the shared services spent meanwhile.",
    '',
    ...r.systems.flatMap((s) => s.notes.map((n) => `- ${s.name}: ${n}`)),
    '',
  );
  out.push(...drainsMarkdown(r));
  if (ss !== null) {
    out.push(
      '## streamscore against the limits',
      '',
      table(
        ['ratio', 'measured', 'target'],
        [
          ['streamscore / broker read limit', `${fixed(r.ratios.broker, 2)}×`, '–'],
          ['streamscore / bare kafkajs client', `${fixed(r.ratios.client, 2)}×`, '≥ 0.6×'],
          ['streamscore / naive processor', `${fixed(r.ratios.naive, 1)}×`, '≥ 20×'],
          ['streamscore / Redis upsert path', `${fixed(r.ratios.upsert, 2)}×`, '–'],
        ],
      ),
      '',
      `### Where streamscore's time goes (${int(ss.windows)} windows, ${fixed(ss.recordsPerWindow, 0)} records per window)`,
      '',
      table(
        ['stage', 'total ms (sum over windows)', 'share', 'µs / record'],
        ss.stages.map((s) => [
          s.stage,
          int(s.totalMs),
          `${fixed(s.share * 100, 1)}%`,
          fixed(s.usPerRecord, 1),
        ]),
      ),
      '',
      `Stage time from the pipeline's \`streamscore_stage_duration_seconds\` (kafka-transaction = its \`commit\` stage) and the audit events' \`redis-write\` lap (fenced prediction writes, output events built and, since 2026-12-04, Avro-encoded). These are wall times: the windows of all assigned partitions (consumer.partitionsConcurrently) share one event loop, so a stage's time includes waiting for the other windows' work and for GC, and the sum can exceed the run's ${fixed(ss.seconds, 1)} s; fetching and kafkajs decoding happen outside windows. Where the CPU goes is in the profile below. Counts: ${Object.entries(
        ss.counts,
      )
        .map(([k, v]) => `${k} ${int(v)}`)
        .join(', ')}.`,
      '',
    );
    if (ss.transactionPhases.length > 0)
      out.push(
        `Kafka transaction steps per committed window, wall time (\`streamscore_transaction_phase_seconds\`; each await also waits for the event loop the windows of all partitions share; send includes AddPartitionsToTxn and kafkajs's retries, offsets AddOffsetsToTxn and TxnOffsetCommit, commit EndTxn): ${ss.transactionPhases
          .map((t) => `${t.phase} ${fixed(t.meanMs, 1)} ms`)
          .join(', ')} (means).`,
        '',
      );
  }
  if (r.sweep.length > 0) {
    const rates = [...new Set(r.sweep.flatMap((s) => s.latency.map((l) => l.targetRate)))].sort(
      (a, b) => a - b,
    );
    const at = (s: SweepResult, rate: number) => s.latency.find((l) => l.targetRate === rate);
    out.push(
      '## Window settings: latency against throughput',
      '',
      table(
        [
          'window (maxRecords / maxBytes / maxDelayMs / minBytes)',
          'drain records/s',
          'CPU s / M',
          'records / window',
          ...rates.map((rate) => `at ${int(rate)}/s: event → Redis p50/p99/p99.9`),
        ],
        r.sweep.map((s) => {
          const run = s.throughput as StreamscoreRun | null;
          return [
            `${s.label}: ${windowText(s.window)}`,
            run === null ? '–' : int(run.recordsPerSec),
            run === null ? '–' : fixed(perM(run.cost?.cpuSeconds, run.records), 1),
            run === null ? '–' : fixed(run.recordsPerWindow, 0),
            ...rates.map((rate) => {
              const l = at(s, rate);
              return l === undefined ? '–' : `${fmt(l.redis)}${l.keptUp ? '' : ' (behind)'}`;
            }),
          ];
        }),
      ),
      '',
      'Drains: the same first records of the prefilled topics, each from an empty group. A bigger window amortises the per-window costs (Redis round trips, one Kafka transaction) over more records; with minBytes 1 the fetch answers as soon as there is data, so at low rates windows stay small and latency low; a held fetch (minBytes up to maxBytes) waits up to maxDelayMs for a fuller window.',
      '',
    );
  }
  if (r.latency.length > 0) {
    out.push(
      '## Latency, open-loop producer',
      '',
      table(
        [
          'window',
          'rate',
          'achieved/s',
          'event → Redis p50/p99/p99.9',
          'Redis samples',
          'event → committed on topic p50/p99/p99.9',
          'Kafka samples',
          'kept up',
          'CPU s / M',
          'CPU s / M to caught up',
          'RSS MB',
        ],
        r.latency.map(latencyRow),
      ),
      '',
      "Event time = the instant the open-loop producer was due to send it (its own delays count). Redis: keyspace notification of the prediction hash whose `as_of` covers the event; Kafka: a read_committed consumer of the predictions topic. Entities are sampled by last digit of their id. CPU s / M: the streamscore process's CPU while the load ran (after the warm-up) per million events sent meanwhile; for a step that did not keep up it is bounded by the cores the process could use and understates the cost of an event (the backlog is processed after the load stops and not counted). CPU s / M to caught up: the CPU from the step's first event until the pipeline had processed all of them, per million events sent in the step (warm-up included), comparable whether or not the step kept up.",
      '',
    );
  }
  if (r.soak !== null) {
    const s = r.soak;
    out.push(
      `## Soak: ${s.minutes} min at ${int(s.targetRate)}/s (achieved ${int(s.achievedRate)}/s)`,
      '',
      `RSS first minute ${fixed(s.rssFirstMinuteMb, 0)} MB, last minute ${fixed(s.rssLastMinuteMb, 0)} MB, max ${fixed(s.rssMaxMb, 0)} MB, trend after the first minute ${fixed(s.rssSlopeMbPerMin, 2)} MB/min; event → committed p50/p99/p99.9 ${fmt(s.kafka)} (${int(s.kafka.count)} samples, ${int(s.kafka.missing)} not seen).`,
      '',
    );
  }
  if (r.profile !== null) {
    const pr = r.profile;
    out.push(
      `## CPU profile of streamscore (\`node --cpu-prof\`, ${int(pr.records)} records, separate run)`,
      '',
      `${fixed(pr.totalMs / 1000, 1)} s on CPU, ${fixed(pr.idleMs / 1000, 1)} s idle (waiting on Kafka/Redis).`,
      '',
      table(
        ['area', 'self ms', 'share'],
        pr.byArea.slice(0, 15).map((a) => [a.name, int(a.selfMs), `${fixed(a.share * 100, 1)}%`]),
      ),
      '',
      table(
        ['function', 'where', 'self ms', 'share'],
        pr.byFunction
          .slice(0, 20)
          .map((f) => [`\`${f.name}\``, f.where, int(f.selfMs), `${fixed(f.share * 100, 1)}%`]),
      ),
      '',
    );
  }
  out.push(
    '## Targets',
    '',
    table(
      ['target', 'measured', 'met'],
      r.targets.map((t) => [
        t.target,
        t.measured,
        t.met === null ? 'not measured' : t.met ? 'yes' : '**no**',
      ]),
    ),
    '',
  );
  if (r.skipped.length > 0) out.push(`Not run: ${r.skipped.join('; ')}.`, '');
  return out.join('\n');
}

export function writeResults(dir: string, r: BenchResults): void {
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), markdown(r));
  writeFileSync(join(dir, 'latest.svg'), chartSvg(r));
}
