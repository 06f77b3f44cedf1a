/**
 * One SVG, written by hand (no chart dependency): throughput per system on a log scale, and p50/p99 latency
 * per open-loop rate (event → Redis visible, event → committed on the predictions topic).
 */
import type { BenchResults } from './types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = {
  bar: '#4c78a8',
  ours: '#f58518',
  p50: '#72b7b2',
  p99: '#e45756',
  grid: '#ddd',
  text: '#222',
};

function text(
  x: number,
  y: number,
  s: string,
  opts: { anchor?: string; size?: number; weight?: string; fill?: string } = {},
): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${opts.size ?? 11}" text-anchor="${opts.anchor ?? 'start'}" font-weight="${opts.weight ?? 'normal'}" fill="${opts.fill ?? COLORS.text}">${esc(s)}</text>`;
}

function si(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return v.toFixed(0);
}

function throughputPanel(r: BenchResults, x0: number, y0: number, w: number, h: number): string {
  const rows = r.systems.filter((s) => s.recordsPerSec > 0);
  const out: string[] = [
    text(x0, y0 - 12, 'Throughput, records/s (log scale)', { size: 13, weight: 'bold' }),
  ];
  if (rows.length === 0) return out.join('');
  const labelW = 210;
  const max = Math.max(...rows.map((s) => s.recordsPerSec));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...rows.map((s) => s.recordsPerSec))));
  const hi = 10 ** Math.ceil(Math.log10(max));
  const scale = (v: number) =>
    ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (w - labelW - 50);
  for (let d = lo; d <= hi; d *= 10) {
    const x = x0 + labelW + scale(d);
    out.push(
      `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + h}" stroke="${COLORS.grid}"/>`,
      text(x, y0 + h + 14, si(d), { anchor: 'middle', size: 10 }),
    );
  }
  const bh = Math.min(28, (h - 10) / rows.length - 6);
  rows.forEach((s, i) => {
    const y = y0 + 5 + i * (bh + 6);
    const ours = s.id.startsWith('streamscore');
    out.push(
      text(x0 + labelW - 6, y + bh / 2 + 4, s.name.replace(/ \(.*\)$/, ''), {
        anchor: 'end',
        weight: ours ? 'bold' : 'normal',
      }),
      `<rect x="${x0 + labelW}" y="${y}" width="${Math.max(1, scale(s.recordsPerSec)).toFixed(1)}" height="${bh}" fill="${ours ? COLORS.ours : COLORS.bar}"/>`,
      text(x0 + labelW + scale(s.recordsPerSec) + 4, y + bh / 2 + 4, si(s.recordsPerSec), { size: 10 }),
    );
  });
  return out.join('');
}

function latencyPanel(r: BenchResults, x0: number, y0: number, w: number, h: number): string {
  const steps = r.latency.filter((s) => s.kafka.p99 !== null);
  const out: string[] = [
    text(x0, y0 - 12, 'Latency, event → Redis / → committed on the topic (p50, p99)', {
      size: 13,
      weight: 'bold',
    }),
  ];
  if (steps.length === 0) return out.join('') + text(x0, y0 + 20, 'latency not measured in this run');
  const series = [
    { name: 'Redis p50', get: (s: (typeof steps)[number]) => s.redis.p50, color: COLORS.p50, dash: false },
    { name: 'Redis p99', get: (s: (typeof steps)[number]) => s.redis.p99, color: COLORS.p99, dash: false },
    { name: 'Kafka p50', get: (s: (typeof steps)[number]) => s.kafka.p50, color: COLORS.p50, dash: true },
    { name: 'Kafka p99', get: (s: (typeof steps)[number]) => s.kafka.p99, color: COLORS.p99, dash: true },
  ];
  // log scale: the low-rate latencies (hundreds of ms) and the backlogged ones (tens of s) on one axis
  const max = Math.max(10, ...steps.flatMap((s) => series.map((se) => se.get(s) ?? 0)));
  const lo = 10;
  const hi = 10 ** Math.ceil(Math.log10(max));
  const groupW = (w - 40) / steps.length;
  const barW = Math.min(22, (groupW - 12) / series.length);
  const y = (v: number) =>
    y0 + h - ((Math.log10(Math.max(lo, v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * h;
  for (let v = lo; v <= hi; v *= 10) {
    out.push(
      `<line x1="${x0 + 40}" y1="${y(v)}" x2="${x0 + w}" y2="${y(v)}" stroke="${COLORS.grid}"/>`,
      text(x0 + 34, y(v) + 4, v >= 1000 ? `${v / 1000} s` : `${v} ms`, { anchor: 'end', size: 10 }),
    );
  }
  steps.forEach((s, i) => {
    const gx = x0 + 40 + i * groupW + 6;
    series.forEach((se, j) => {
      const v = se.get(s);
      if (v === null) return;
      const bx = gx + j * barW;
      out.push(
        `<rect x="${bx}" y="${y(v)}" width="${barW - 2}" height="${(y0 + h - y(v)).toFixed(1)}" fill="${se.color}"${se.dash ? ' fill-opacity="0.45" stroke="' + se.color + '"' : ''}/>`,
      );
    });
    const cx = gx + (series.length * barW) / 2;
    out.push(
      text(cx, y0 + h + 13, `${si(s.targetRate)}/s`, { anchor: 'middle', size: 10 }),
      text(cx, y0 + h + 25, `${s.window.maxDelayMs} ms${s.window.minBytes > 1 ? ' held' : ''}`, {
        anchor: 'middle',
        size: 10,
      }),
    );
    if (!s.keptUp)
      out.push(text(cx, y0 + h + 37, 'behind', { anchor: 'middle', size: 10, fill: COLORS.p99 }));
  });
  series.forEach((se, j) => {
    const lx = x0 + 50 + j * 100;
    out.push(
      `<rect x="${lx}" y="${y0 + h + 46}" width="12" height="10" fill="${se.color}"${se.dash ? ' fill-opacity="0.45" stroke="' + se.color + '"' : ''}/>`,
      text(lx + 16, y0 + h + 55, se.name, { size: 10 }),
    );
  });
  out.push(
    text(x0 + 40, y0 + h + 72, 'each group: open-loop rate, window.maxDelayMs (log scale)', { size: 10 }),
  );
  return out.join('');
}

export function chartSvg(r: BenchResults): string {
  const W = 1200;
  const H = 440;
  const title = `streamscore benchmark ${r.startedAt.slice(0, 10)} — ${r.prefill.records.toLocaleString('en-US')} records, ${r.machine.cpus} CPUs, ${r.machine.memoryGiB.toFixed(0)} GiB`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    text(20, 26, title, { size: 15, weight: 'bold' }),
    throughputPanel(r, 20, 70, 560, 300),
    latencyPanel(r, 620, 70, 560, 270),
    '</svg>',
  ].join('\n');
}
