/**
 * A Redis of a test's own (its own port and folder), so the test can kill and restart it without touching
 * the Redis other tests use. With `aof`, it persists every write to an append-only file (appendfsync
 * everysec, what docs/redis.md recommends) and a restart reads it back; without, it keeps nothing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { killChild } from './child.js';

export interface PrivateRedis {
  readonly url: string;
  /** SIGKILL: the process dies at once, without saving anything. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (an AOF is read back; without one it starts empty). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open and every command waits, as on a frozen host. */
  pause(): void;
  resume(): void;
}

/** A TCP port nothing listens on right now (for a process the test starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function answers(port: number, password: string | undefined): Promise<boolean> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...(password === undefined ? {} : { password }),
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

/** With `password`, clients must authenticate (requirepass) and `url` carries it: `redis://:<password>@…`. */
export async function startPrivateRedis(opts: { aof: boolean; password?: string }): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-redis-'));
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push(...(opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']));
    if (opts.password !== undefined) args.push('--requirepass', opts.password);
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // the test process must be able to end while this Redis runs (it is killed on exit)
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    const deadline = Date.now() + 10000;
    while (!(await answers(port, opts.password))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`redis-server on port ${port} did not start:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = () => killChild(child);
  await start();
  // on exit, not in an `after` hook: the test env's cleanup still talks to this Redis
  process.once('exit', () => child?.kill('SIGKILL'));
  const auth = opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
