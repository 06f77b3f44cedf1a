/**
 * The streamscore drains in the results: what each ran with (guarantees, settings, node flags), every
 * drain's rate and CPU per record across the box, and the current build against a compared one.
 */
import type { RunSettings } from './build-settings.js';
import { COMPARED } from './cost.js';
import type { ComparedMetric } from './cost.js';
import type { BenchResults, StreamscoreRun } from './types.js';
import { fixed, int, table } from './markdown.js';

export const PER_RECORD_HEAD = [
  'entities scored / record',
  'Node µs / record',
  'Redis µs / record',
  'Redis main thread µs',
  'Redis in scripts µs (evalsha)',
  'Redis data commands µs',
  'broker µs / record',
  'box µs / record',
] as const;

export function perRecordCells(r: StreamscoreRun): string[] {
  const c = r.perRecord;
  return [
    fixed(c.entitiesScoredPerRecord, 3),
    fixed(c.nodeUs),
    fixed(c.redisUs),
    fixed(c.redisMainThreadUs),
    fixed(c.redisScriptUs),
    fixed(c.redisDataUs),
    fixed(c.brokerUs),
    fixed(c.boxUs),
  ];
}

function settingsLines(s: RunSettings): string[] {
  const j = (v: unknown) => `\`${JSON.stringify(v)}\``;
  return [
    `- **${s.build}**: exactly-once ${s.exactlyOnce}; isolation **${s.isolation}**`,
    `  - input consumer (kafkajs options streamscore derives): ${j(s.fetch)}`,
    `  - window ${j(s.window)}; state ${j(s.state)}; backpressure ${j(s.backpressure)}`,
    `  - consumer ${j(s.consumer)}; model ${j(s.model)}`,
    `  - node ${s.node.version}; streamscore node flags: ${s.node.flags.length === 0 ? 'none' : `\`${s.node.flags.join(' ')}\``}; NODE_OPTIONS: ${s.node.nodeOptions === '' ? 'unset' : `\`${s.node.nodeOptions}\``}`,
  ];
}

const METRIC_NAMES: Record<ComparedMetric, string> = {
  recordsPerSec: 'records/s (higher is better)',
  entitiesScoredPerRecord: 'entities scored / record (same data: should match)',
  nodeUs: 'Node CPU µs / record',
  redisUs: 'Redis CPU µs / record (INFO cpu)',
  redisMainThreadUs: 'Redis main thread CPU µs / record (INFO cpu)',
  redisScriptUs: 'Redis in scripts µs / record (commandstats evalsha)',
  redisDataUs: 'Redis data commands µs / record (commandstats)',
  brokerUs: 'broker CPU µs / record',
  boxUs: 'box CPU µs / record (Node + Redis + broker)',
};

function metricCell(v: number | null, lo: number | null, hi: number | null, m: ComparedMetric): string {
  const d = m === 'recordsPerSec' ? 0 : m === 'entitiesScoredPerRecord' ? 3 : 1;
  const show = (x: number | null) => (x === null ? '–' : d === 0 ? int(x) : x.toFixed(d));
  return lo !== null && hi !== null && lo !== hi ? `${show(v)} (${show(lo)}–${show(hi)})` : show(v);
}

export function drainsMarkdown(r: BenchResults): string[] {
  const out: string[] = [];
  if (r.settings.length > 0)
    out.push(
      '## Guarantees and settings of the streamscore drains',
      '',
      ...r.settings.flatMap(settingsLines),
      '',
    );
  if (r.drains.length === 0) return out;
  const order = r.drains[0]?.order ?? 'mixed';
  out.push(
    '## streamscore drains: CPU per input record across the box',
    '',
    table(
      ['build', 'drain', 'records', 'records/s', 'no_profile', ...PER_RECORD_HEAD, 'peak RSS MB'],
      r.drains.map((d) => [
        d.build,
        d.label,
        int(d.records),
        `**${int(d.recordsPerSec)}**`,
        int(d.counts['no_profile'] ?? 0),
        ...perRecordCells(d),
        fixed(d.cost?.peakRssMb, 0),
      ]),
    ),
    '',
    `In the order they ran, one at a time, each from offset 0 with its own consumer group(s) and Redis key prefix. Order ${order}: ${order === 'cdc-first' ? 'each drain reads the CDC topic to its end, then the transactions, so every transaction finds the profile state the CDC topic leaves and the scored work is the same in every drain (rate and CPU add both stages)' : 'both topics at once; which transactions find their profile depends on how the topics interleave, so no_profile and the scored work vary between drains'}. CPU per record over pipeline ready → caught up: Node = the streamscore process (utime+stime), Redis = \`INFO cpu\` used_cpu_sys+used_cpu_user deltas, and of it the main thread (commands and scripts; the rest is background threads, e.g. jemalloc returning memory after an earlier drain's keys were deleted); the script and data-command columns are \`commandstats\` usec deltas (a script's data commands count in both, so scripts − data ≈ Lua, cjson and argument handling; usec is time inside the command, so on a box where Redis waits for a core it can exceed Redis's CPU), broker = /proc/<pid>/stat of the Kafka process, box = Node + Redis + broker. Redis and the broker are shared: whatever else used them meanwhile is in their figures.`,
    '',
  );
  const main = r.streamscore;
  if (main?.redis != null && main.redis.dataByCommand.length > 0) {
    out.push(
      `Redis commands of the ${main.label} drain: scripts ${int(main.redis.scriptCalls)} calls, ${fixed(main.redis.scriptUsec / 1e6, 2)} s; data commands ${main.redis.dataByCommand
        .slice(0, 8)
        .map((c) => `${c.command} ${fixed(c.usec / 1e6, 2)} s`)
        .join(', ')}.`,
      '',
    );
  }
  const c = r.comparison;
  if (c !== null) {
    out.push(
      `## This build against ${c.old.build}`,
      '',
      table(
        [
          'metric',
          `current: median (min–max) of ${c.current.runs}`,
          `${c.old.build}: median (min–max) of ${c.old.runs}`,
          'current / old',
        ],
        COMPARED.map((m) => [
          METRIC_NAMES[m],
          metricCell(c.current.median[m], c.current.min[m], c.current.max[m], m),
          metricCell(c.old.median[m], c.old.min[m], c.old.max[m], m),
          c.ratio[m] === null ? '–' : `${(c.ratio[m] as number).toFixed(2)}×`,
        ]),
      ),
      '',
      'Same prefilled topics, same bench, same order; the builds alternate (A B, B A, …) so neither always runs on a warmer or quieter box.',
      '',
    );
  }
  return out;
}
