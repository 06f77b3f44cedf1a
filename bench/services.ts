/**
 * The local services the bench measures against. Services that already answer are used as they are,
 * whoever started them (another checkout's scripts/services.sh, a CI job, a docker compose): the script
 * calls a service started from another folder "foreign" and refuses to go on, but a running, healthy
 * broker, registry and Redis is all a bench run needs. Only when one does not answer is the script asked
 * to start them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createKafkaClient } from '../src/adapters/kafka.js';
import { parseConfig } from '../src/config/index.js';
import type { Config } from '../src/config/index.js';

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Which of the three services do not answer (empty: all healthy). */
export async function unhealthyServices(cfg: Readonly<Config>): Promise<string[]> {
  const bad: string[] = [];
  const admin = createKafkaClient({ ...cfg.kafka, connectionTimeoutMs: 2000 }).admin();
  try {
    await within(
      8000,
      admin.connect().then(() => admin.describeCluster()),
    );
  } catch {
    bad.push(`kafka (${cfg.kafka.brokers.join(',')})`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  try {
    const res = await within(5000, fetch(`${cfg.registry.url}/subjects`));
    if (!res.ok) bad.push(`registry (${cfg.registry.url}: HTTP ${res.status})`);
  } catch {
    bad.push(`registry (${cfg.registry.url})`);
  }
  const r = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await within(
      5000,
      r.connect().then(() => r.ping()),
    );
  } catch {
    bad.push(`redis (${cfg.redis.url})`);
  } finally {
    r.disconnect();
  }
  return bad;
}

/** Uses the running services when all answer; otherwise starts them through the project's script. */
export async function ensureServices(log: (s: string) => void): Promise<void> {
  const cfg = parseConfig({}, process.env);
  const down = await unhealthyServices(cfg);
  if (down.length === 0) {
    log('services: Kafka, registry and Redis answer; using them as they are');
    return;
  }
  log(`services: not answering: ${down.join(', ')}; starting them (scripts/services.sh up)`);
  try {
    execFileSync('bash', ['scripts/services.sh', 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    throw new Error(
      'the local services did not come up (see above). If a port is held by another process (e.g. a CI run), wait a few minutes and retry.',
    );
  }
}

function isAlive(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/** The pid listening on a local TCP port (ss), when it can be seen. */
function listenerPid(port: number): number | null {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid === undefined ? null : Number(pid);
  } catch {
    return null;
  }
}

/**
 * The broker's pid (the script's pid file when it names a live Kafka, else whoever listens on the broker's
 * port) and Redis's (from INFO), so their CPU can be read from /proc.
 */
export async function servicePids(
  cfg: Readonly<Config>,
): Promise<{ broker: number | null; redis: number | null }> {
  let broker: number | null = null;
  try {
    const fromFile = Number(readFileSync('.run/kafka.pid', 'utf8').trim());
    if (fromFile > 0 && isAlive(fromFile, 'kafka')) broker = fromFile;
  } catch {
    broker = null;
  }
  const port = Number(cfg.kafka.brokers[0]?.split(':')[1]);
  if (broker === null && Number.isInteger(port)) broker = listenerPid(port);
  const r = new Redis(cfg.redis.url);
  try {
    const info = await r.info('server');
    const pid = /process_id:(\d+)/.exec(info)?.[1];
    return { broker, redis: pid === undefined ? null : Number(pid) };
  } finally {
    r.disconnect();
  }
}
