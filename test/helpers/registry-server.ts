/**
 * An Apicurio Registry of a test's own (its own port and H2 database file, from the jar
 * scripts/services.sh resolved into .cache/), so the test can stop and restart it without touching the
 * registry other tests use. The database survives a restart: schema ids stay the same, as in production.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REGISTRY_CCOMPAT_PATH } from '../../src/config/defaults.js';
import { freePort } from './redis-server.js';
import { ensureServices } from './services.js';
import { killChild } from './child.js';

export interface PrivateRegistry {
  /** The Confluent-compatible API (…/apis/ccompat/v7). */
  readonly url: string;
  /** SIGKILL, and wait for the process to end. */
  kill(): Promise<void>;
  /** Starts it again on the same port and database; resolves once it answers. */
  start(): Promise<void>;
}

function registryJar(): string {
  ensureServices(); // resolves the jar on a fresh machine
  const cache = resolve('.cache');
  const dir = readdirSync(cache).find((d) => d.startsWith('apicurio-'));
  const jar =
    dir === undefined
      ? undefined
      : readdirSync(join(cache, dir)).find(
          (f) => f.startsWith('apicurio-registry-app-') && f.endsWith('-runner.jar'),
        );
  if (dir === undefined || jar === undefined || !existsSync(join(cache, dir, jar)))
    throw new Error('no Apicurio Registry jar in .cache/ (run `bash scripts/services.sh up`)');
  return join(cache, dir, jar);
}

export async function startPrivateRegistry(): Promise<PrivateRegistry> {
  const jar = registryJar();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'streamscore-registry-'));
  const url = `http://127.0.0.1:${port}${REGISTRY_CCOMPAT_PATH}`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    // the same settings as scripts/services.sh (canonical-hash matching, content ids, an H2 file)
    child = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx384m',
        '-XX:TieredStopAtLevel=1',
        '-Dquarkus.http.host=127.0.0.1',
        `-Dquarkus.http.port=${port}`,
        `-Dvertx.cacheDirBase=${join(dir, 'vertx-cache')}`,
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        `-Dapicurio.datasource.url=jdbc:h2:file:${join(dir, 'db', 'registry')}`,
        '-Dapicurio.ccompat.use-canonical-hash=true',
        '-Dapicurio.ccompat.legacy-id-mode.enabled=false',
        '-jar',
        jar,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
    child.unref();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    const deadline = Date.now() + 90000;
    for (;;) {
      const ok = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`Apicurio Registry on port ${port} did not start:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const kill = () => killChild(child);
  await start();
  process.once('exit', () => child?.kill('SIGKILL'));
  return { url, kill, start };
}
