/**
 * The acceptance targets, checked against one run's results ('–' and met = null when the phase that
 * measures a target did not run).
 */
import type { BenchResults } from './types.js';

/** The rate of the latency target: p99 event → Redis ≤ window max delay + 50 ms at 10k events/s. */
const TARGET_RATE = 10_000;

export function targets(r: Omit<BenchResults, 'targets'>): BenchResults['targets'] {
  const sweepRate = TARGET_RATE;
  const ratio = (k: string) => r.ratios[k] ?? null;
  const at10k =
    r.latency.find(
      (s) =>
        !s.label.startsWith('saturation') &&
        s.targetRate === sweepRate &&
        s.window.maxDelayMs === r.streamscore?.window.maxDelayMs,
    ) ?? null;
  const limit = (at10k?.window.maxDelayMs ?? 250) + 50;
  const sat = r.latency.find((s) => s.label.startsWith('saturation')) ?? null;
  const rssSat = Math.max(sat?.rssMb ?? 0, r.soak?.rssMaxMb ?? 0);
  return [
    {
      target: 'streamscore ≥ 0.6× the bare-kafkajs client limit',
      measured: `${ratio('client')?.toFixed(2) ?? '–'}×`,
      met: ratio('client') === null ? null : (ratio('client') as number) >= 0.6,
    },
    {
      target: 'streamscore ≥ 20× the naive processor',
      measured: `${ratio('naive')?.toFixed(1) ?? '–'}×`,
      met: ratio('naive') === null ? null : (ratio('naive') as number) >= 20,
    },
    {
      target: `p99 event → Redis visible ≤ window max delay + 50 ms (${limit} ms) at ${sweepRate / 1000}k events/s`,
      measured: at10k?.redis.p99 == null ? '–' : `${Math.round(at10k.redis.p99)} ms`,
      met: at10k?.redis.p99 == null ? null : at10k.redis.p99 <= limit,
    },
    {
      target: 'RSS ≤ 300 MB at saturation',
      measured: sat === null && r.soak === null ? '–' : `${rssSat.toFixed(0)} MB`,
      met: sat === null && r.soak === null ? null : rssSat <= 300,
    },
    {
      target: 'RSS flat over a 10-minute run at 80 % of saturation',
      measured:
        r.soak === null
          ? '–'
          : `${r.soak.minutes} min: ${r.soak.rssSlopeMbPerMin.toFixed(2)} MB/min after the first minute (${r.soak.rssFirstMinuteMb.toFixed(0)} → ${r.soak.rssLastMinuteMb.toFixed(0)} MB)`,
      met: r.soak === null || r.soak.minutes < 10 ? null : Math.abs(r.soak.rssSlopeMbPerMin) < 1,
    },
  ];
}
