/**
 * Child processes and what they cost. Every measured system runs in its own process, so its CPU time and
 * peak RSS are its own; the driver samples /proc/<pid> (utime + stime, VmRSS, VmHWM) and interpolates CPU
 * at the instants a phase reports (first record, last record).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import type { ProcessCost } from './types.js';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

interface Sample {
  readonly t: number;
  readonly cpuSeconds: number;
  readonly rssMb: number;
}

function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function readMemMb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples one process every `intervalMs` until stopped or the process is gone. */
export class ProcSampler {
  readonly pid: number;
  readonly #samples: Sample[] = [];
  #hwmMb = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(pid: number, intervalMs = 100) {
    this.pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Takes a sample now (also call it right before reading a result, so the last instant is exact). */
  sample(): void {
    const cpu = readCpuSeconds(this.pid);
    const mem = readMemMb(this.pid);
    if (cpu === null || mem === null) return;
    this.#samples.push({ t: Date.now(), cpuSeconds: cpu, rssMb: mem.rss });
    if (mem.hwm > this.#hwmMb) this.#hwmMb = mem.hwm;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get peakRssMb(): number {
    return this.#hwmMb;
  }

  get cpuSecondsTotal(): number {
    return this.#samples[this.#samples.length - 1]?.cpuSeconds ?? 0;
  }

  /** CPU seconds used at instant `t` (epoch ms), interpolated between the samples around it. */
  cpuAt(t: number): number {
    const s = this.#samples;
    if (s.length === 0) return 0;
    let lo = 0;
    let hi = s.length - 1;
    if (t <= (s[0] as Sample).t) return (s[0] as Sample).cpuSeconds;
    if (t >= (s[hi] as Sample).t) return (s[hi] as Sample).cpuSeconds;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((s[mid] as Sample).t <= t) lo = mid;
      else hi = mid;
    }
    const a = s[lo] as Sample;
    const b = s[hi] as Sample;
    return a.cpuSeconds + ((b.cpuSeconds - a.cpuSeconds) * (t - a.t)) / Math.max(1, b.t - a.t);
  }

  cpuBetween(t0: number, t1: number): number {
    return Math.max(0, this.cpuAt(t1) - this.cpuAt(t0));
  }

  /** RSS samples [epoch ms, MB] from `since` on. */
  rssSince(since: number): Array<[number, number]> {
    return this.#samples.filter((s) => s.t >= since).map((s) => [s.t, s.rssMb]);
  }

  cost(t0: number, t1: number): ProcessCost {
    return {
      cpuSeconds: this.cpuBetween(t0, t1),
      cpuSecondsTotal: this.cpuSecondsTotal,
      peakRssMb: this.#hwmMb,
    };
  }
}

export interface Child {
  readonly child: ChildProcess;
  readonly sampler: ProcSampler;
  readonly startedAt: number;
  readonly exited: Promise<number | null>;
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  /** Neither exited nor killed by a signal yet. */
  running(): boolean;
  /** Resolves with the first line (present or future) that `match` accepts; rejects if the child exits first. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Every line of the child's output is appended here (a *.raw.* file: ignored by git). */
  readonly logFile?: string;
  readonly sampleMs?: number;
}

/** Live children, so the driver can stop them when it is interrupted. */
export const liveChildren = new Set<Child>();

export function startChild(command: string, args: readonly string[], opts: StartOptions = {}): Child {
  const child = spawn(command, [...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const startedAt = Date.now();
  const sampler = new ProcSampler(child.pid, opts.sampleMs ?? 100);
  const log = opts.logFile === undefined ? undefined : createWriteStream(opts.logFile, { flags: 'a' });
  const lines: string[] = [];
  const waiters = new Set<{ match: (l: string) => boolean; resolve: (l: string) => void }>();
  const onData = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        for (const w of waiters) {
          if (w.match(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
        }
      }
    });
  };
  onData(child.stdout as NodeJS.ReadableStream);
  onData(child.stderr as NodeJS.ReadableStream);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      sampler.stop();
      log?.end();
      resolve(code ?? (signal === null ? null : 128));
    });
  });
  let stopping: Promise<number | null> | undefined;
  const handle: Child = {
    child,
    sampler,
    startedAt,
    exited,
    lines,
    running: () => child.exitCode === null && child.signalCode === null,
    waitForLine(match, timeoutMs) {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(entry);
          reject(new Error(`${command}: no matching output within ${timeoutMs} ms`));
        }, timeoutMs);
        const entry = {
          match,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.add(entry);
        void exited.then((code) => {
          if (!waiters.has(entry)) return;
          waiters.delete(entry);
          clearTimeout(timer);
          reject(
            new Error(
              `${command} exited (${code}) before the expected output:\n${lines.slice(-20).join('\n')}`,
            ),
          );
        });
      });
    },
    stop(graceMs = 30000) {
      stopping ??= (async () => {
        sampler.sample();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          try {
            return await exited;
          } finally {
            clearTimeout(timer);
          }
        }
        return exited;
      })();
      return stopping;
    },
  };
  liveChildren.add(handle);
  void exited.then(() => liveChildren.delete(handle));
  return handle;
}

/** The JSON a worker prints as its last `RESULT {...}` line. */
export function resultOf<T>(c: Child): T {
  const line = [...c.lines].reverse().find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`no RESULT line; last output:\n${c.lines.slice(-20).join('\n')}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** Runs a worker to completion and returns its result with the child (for its sampler). */
export async function runWorker<T>(
  script: string,
  spec: unknown,
  opts: StartOptions & { readonly nodeArgs?: readonly string[]; readonly timeoutMs?: number } = {},
): Promise<{ result: T; child: Child }> {
  const c = startChild(process.execPath, [...(opts.nodeArgs ?? []), script, JSON.stringify(spec)], opts);
  const timer = setTimeout(() => void c.stop(2000), opts.timeoutMs ?? 30 * 60_000);
  const code = await c.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${c.lines.slice(-30).join('\n')}`);
  return { result: resultOf<T>(c), child: c };
}

/** Samples a long-running service (the broker, Redis) for the whole bench, when its pid is known. */
export function sampleService(pid: number | null): ProcSampler | null {
  if (pid === null || readCpuSeconds(pid) === null) return null;
  return new ProcSampler(pid, 250);
}
