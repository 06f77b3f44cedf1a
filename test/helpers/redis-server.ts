/**
 * A Redis of a test's own (its own port and folder), so the test can kill and restart it without touching
 * the Redis other tests use. With `aof`, it persists every write to an append-only file (appendfsync
 * everysec, what docs/redis.md recommends) and a restart reads it back; without, it keeps nothing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { makeTestCertificates } from './certs.js';
import { killChild } from './child.js';

export interface PrivateRedis {
  readonly url: string;
  /** With `secure`: the client's TLS files (config redis.tls) and the ACL users' password. */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
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

async function answers(
  port: number,
  password: string | undefined,
  secure?: { tls: ConnectionOptions; username: string; password: string },
): Promise<boolean> {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...(password === undefined ? {} : { password }),
    ...(secure === undefined ? {} : secure),
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

/** The ACL user the secured Redis's probe and the test's own checks use (every command, every key). */
export const REDIS_ADMIN = { username: 'admin', password: 'admin-secret' };

/**
 * With `password`, clients must authenticate (requirepass) and `url` carries it: `redis://:<password>@…`.
 * With `secure`: TLS only (no plaintext port; client certificates required; a server certificate for
 * 127.0.0.1 from a CA of the test's own), the default user off, and the ACL users of `aclUsers` (aclfile
 * lines without the `user` keyword) besides REDIS_ADMIN; `url` is `rediss://127.0.0.1:<port>`.
 */
export async function startPrivateRedis(opts: {
  aof: boolean;
  password?: string;
  secure?: { aclUsers: readonly string[] };
}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-redis-'));
  const certs = opts.secure === undefined ? undefined : makeTestCertificates(dir);
  const aclFile = join(dir, 'users.acl');
  if (opts.secure !== undefined)
    writeFileSync(
      aclFile,
      [
        'user default off',
        `user ${REDIS_ADMIN.username} on >${REDIS_ADMIN.password} ~* &* +@all`,
        ...opts.secure.aclUsers.map((u) => `user ${u}`),
        '',
      ].join('\n'),
    );
  const probeTls =
    certs === undefined
      ? undefined
      : {
          tls: { ca: [readFileSync(certs.ca)], cert: readFileSync(certs.cert), key: readFileSync(certs.key) },
          ...REDIS_ADMIN,
        };
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    const args =
      certs === undefined
        ? ['--port', String(port)]
        : [
            '--port',
            '0',
            '--tls-port',
            String(port),
            '--tls-cert-file',
            certs.serverCert,
            '--tls-key-file',
            certs.serverKey,
            '--tls-ca-cert-file',
            certs.ca,
            '--tls-auth-clients',
            'yes',
            '--aclfile',
            aclFile,
          ];
    args.push('--bind', '127.0.0.1', '--dir', dir, '--save', '');
    args.push(...(opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']));
    if (opts.password !== undefined) args.push('--requirepass', opts.password);
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // the test process must be able to end while this Redis runs (it is killed on exit)
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    const deadline = Date.now() + 10000;
    while (!(await answers(port, opts.password, probeTls))) {
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
    url: certs === undefined ? `redis://${auth}127.0.0.1:${port}` : `rediss://127.0.0.1:${port}`,
    ...(certs === undefined ? {} : { tls: { caFile: certs.ca, certFile: certs.cert, keyFile: certs.key } }),
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}
