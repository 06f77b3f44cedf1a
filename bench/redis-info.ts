/**
 * What Redis says it spent, from `INFO cpu` (used_cpu_sys + used_cpu_user: the whole server process) and
 * `INFO commandstats` (calls and µs per command). Taken right before and right after a drain, the deltas are
 * that drain's Redis cost. A command a Lua script runs is counted twice: under its own name and inside the
 * script's usec, so `scripts − data` is what the scripts cost beyond their data commands (interpreter, cjson,
 * argument handling).
 *
 * Redis is shared: anything else that uses it during the drain (other test runs) lands in these deltas too.
 */
import { Redis } from 'ioredis';

export interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

export interface RedisInfo {
  /** used_cpu_sys + used_cpu_user, seconds: every thread of the server. */
  readonly cpuSeconds: number;
  /**
   * used_cpu_{sys,user}_main_thread: the thread that runs commands and scripts, without background threads
   * (jemalloc purging after large deletes, lazy free), which can still be busy with an earlier run's keys.
   */
  readonly mainThreadCpuSeconds: number;
  readonly commands: ReadonlyMap<string, CommandStat>;
}

export interface RedisCost {
  readonly cpuSeconds: number;
  readonly mainThreadCpuSeconds: number;
  /** usec inside script calls (evalsha, eval, fcall and their _ro forms). */
  readonly scriptUsec: number;
  readonly scriptCalls: number;
  /** usec of data commands (everything but scripts and connection/admin commands), in or outside scripts. */
  readonly dataUsec: number;
  readonly dataCalls: number;
  /** The data commands by usec, largest first. */
  readonly dataByCommand: ReadonlyArray<{ readonly command: string } & CommandStat>;
}

const SCRIPT = /^(evalsha|eval|fcall)(_ro)?$/;
/** Connection and admin commands: the bench's own INFO, client handshakes; not the pipeline's data work. */
const NOT_DATA = new Set([
  'info',
  'ping',
  'hello',
  'auth',
  'select',
  'client',
  'config',
  'command',
  'script',
  'function',
  'quit',
  'readonly',
  'slowlog',
  'latency',
  'memory',
  'dbsize',
  'scan',
  'unlink',
  'psubscribe',
  'punsubscribe',
  'subscribe',
  'unsubscribe',
]);

/** Parses the text of `INFO cpu` + `INFO commandstats` (either or both sections, any order). */
export function parseInfo(text: string): RedisInfo {
  let sys = 0;
  let user = 0;
  let main = 0;
  const commands = new Map<string, CommandStat>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('used_cpu_sys:')) sys = Number(line.slice('used_cpu_sys:'.length));
    else if (line.startsWith('used_cpu_user:')) user = Number(line.slice('used_cpu_user:'.length));
    else if (/^used_cpu_(sys|user)_main_thread:/.test(line))
      main += Number(line.slice(line.indexOf(':') + 1));
    else if (line.startsWith('cmdstat_')) {
      const colon = line.indexOf(':');
      const name = line.slice('cmdstat_'.length, colon);
      const fields = new Map(
        line
          .slice(colon + 1)
          .split(',')
          .map((kv) => kv.split('=') as [string, string]),
      );
      commands.set(name, { calls: Number(fields.get('calls') ?? 0), usec: Number(fields.get('usec') ?? 0) });
    }
  }
  return { cpuSeconds: sys + user, mainThreadCpuSeconds: main, commands };
}

/** after − before; a command absent before counts from zero (a CONFIG RESETSTAT in between gives negatives: clamped). */
export function infoDelta(before: RedisInfo, after: RedisInfo): RedisInfo {
  const commands = new Map<string, CommandStat>();
  for (const [name, a] of after.commands) {
    const b = before.commands.get(name) ?? { calls: 0, usec: 0 };
    const d = { calls: Math.max(0, a.calls - b.calls), usec: Math.max(0, a.usec - b.usec) };
    if (d.calls > 0 || d.usec > 0) commands.set(name, d);
  }
  return {
    cpuSeconds: Math.max(0, after.cpuSeconds - before.cpuSeconds),
    mainThreadCpuSeconds: Math.max(0, after.mainThreadCpuSeconds - before.mainThreadCpuSeconds),
    commands,
  };
}

/** A delta, split into scripts and data commands. */
export function redisCost(delta: RedisInfo): RedisCost {
  let scriptUsec = 0;
  let scriptCalls = 0;
  let dataUsec = 0;
  let dataCalls = 0;
  const data: Array<{ command: string } & CommandStat> = [];
  for (const [name, s] of delta.commands) {
    const base = name.split('|')[0] as string;
    if (SCRIPT.test(base)) {
      scriptUsec += s.usec;
      scriptCalls += s.calls;
    } else if (!NOT_DATA.has(base)) {
      dataUsec += s.usec;
      dataCalls += s.calls;
      data.push({ command: name, ...s });
    }
  }
  data.sort((a, b) => b.usec - a.usec);
  return {
    cpuSeconds: delta.cpuSeconds,
    mainThreadCpuSeconds: delta.mainThreadCpuSeconds,
    scriptUsec,
    scriptCalls,
    dataUsec,
    dataCalls,
    dataByCommand: data,
  };
}

/** One INFO snapshot (cpu + commandstats) of the Redis at `url`; null when Redis refuses INFO. */
export async function readRedisInfo(url: string): Promise<RedisInfo | null> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    const [cpu, stats] = await Promise.all([r.info('cpu'), r.info('commandstats')]);
    return parseInfo(`${cpu}\n${stats}`);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** The sum of several deltas (the stages of one drain). */
export function sumInfo(deltas: readonly RedisInfo[]): RedisInfo {
  const commands = new Map<string, CommandStat>();
  let cpuSeconds = 0;
  let mainThreadCpuSeconds = 0;
  for (const d of deltas) {
    cpuSeconds += d.cpuSeconds;
    mainThreadCpuSeconds += d.mainThreadCpuSeconds;
    for (const [name, s] of d.commands) {
      const c = commands.get(name) ?? { calls: 0, usec: 0 };
      commands.set(name, { calls: c.calls + s.calls, usec: c.usec + s.usec });
    }
  }
  return { cpuSeconds, mainThreadCpuSeconds, commands };
}
