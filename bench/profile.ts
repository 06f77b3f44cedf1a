/**
 * Reads a V8 .cpuprofile (`node --cpu-prof`) and says where the CPU went: self time by area (a package of
 * node_modules, a stage folder of streamscore, node internals, GC) and by function.
 */
import { readFileSync } from 'node:fs';
import type { ProfileEntry, ProfileSummary } from './types.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{ readonly id: number; readonly callFrame: CallFrame }>;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function shortPath(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** The area a frame belongs to: a package, a streamscore folder, node internals, GC, … */
export function areaOf(frame: CallFrame): string {
  const { functionName: fn, url } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === '(idle)') return '(idle)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return (parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]) ?? 'node_modules';
  }
  const src = /\/dist\/src\/([^/]+)\//.exec(url);
  if (src !== null) return `streamscore src/${src[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return 'native/builtins';
  return shortPath(url);
}

function entries(
  map: Map<string, { where: string; us: number }>,
  total: number,
  top: number,
): ProfileEntry[] {
  return [...map]
    .map(([name, v]) => ({
      name,
      where: v.where,
      selfMs: v.us / 1000,
      share: total === 0 ? 0 : v.us / total,
    }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
}

/** One summary of one or more profiles (a drain in stages writes one per process). */
export function summariseProfile(
  files: string | readonly string[],
  records: number,
  top = 25,
): ProfileSummary {
  const list = typeof files === 'string' ? [files] : files;
  const frames = new Map<string, CallFrame>();
  const self = new Map<string, number>();
  list.forEach((file, k) => {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    for (const n of profile.nodes) frames.set(`${k}:${n.id}`, n.callFrame);
    for (let i = 0; i < profile.samples.length; i++) {
      const id = `${k}:${profile.samples[i] as number}`;
      // timeDeltas[i + 1] is the time from sample i to the next one: what sample i stands for
      self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
    }
  });
  const byArea = new Map<string, { where: string; us: number }>();
  const byFunction = new Map<string, { where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const f = frames.get(id) as CallFrame;
    const area = areaOf(f);
    if (area === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const a = byArea.get(area) ?? { where: '', us: 0 };
    a.us += us;
    byArea.set(area, a);
    const where = f.url === '' ? area : `${shortPath(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    const fn = byFunction.get(key) ?? { where, us: 0 };
    fn.us += us;
    byFunction.set(key, fn);
  }
  const functions = entries(byFunction, total, top).map((e) => ({
    ...e,
    name: e.name.slice(0, e.name.length - e.where.length - 1),
  }));
  return {
    file: list.join(', '),
    records,
    totalMs: total / 1000,
    idleMs: idle / 1000,
    byArea: entries(byArea, total, 30),
    byFunction: functions,
  };
}
