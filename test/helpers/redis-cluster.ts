/**
 * The Redis Cluster of `bash scripts/services.sh cluster-up`: 3 masters + 3 replicas on
 * 127.0.0.1:7100-7105 (STREAMSCORE_REDIS_CLUSTER_PORT moves the base port), no persistence. And what a test
 * does to it, the way an operator would: a live resharding (slots MIGRATING/IMPORTING while clients keep
 * writing, so they meet ASK and TRYAGAIN), a graceful manual failover, a master losing all its data.
 *
 * Every helper starts and returns only with the cluster ok (waitForClusterOk): cluster_state:ok and all
 * 16384 slots served on all six nodes, no node flagged fail/pfail, no open slot, every node agreeing on who
 * serves which slot, every replica's link to its master up. Which port is master or replica is not fixed
 * (redis-cli chooses at creation, failover swaps them): read it with clusterMasters() / clusterReplicaOf().
 *
 * Admin commands go to single nodes (ioredis Redis); data is the business of an ioredis Cluster client.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';

const HOST = '127.0.0.1';
const NODE_COUNT = 6;
const SLOTS = 16384;
const DEFAULT_WAIT_MS = 30_000;

/** The checkout's root (the folder with scripts/services.sh), from this file in test/ or dist/test/. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'scripts', 'services.sh'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

function basePort(): number {
  const raw = process.env.STREAMSCORE_REDIS_CLUSTER_PORT;
  const port = raw === undefined || raw === '' ? 7100 : Number(raw);
  if (!Number.isInteger(port) || port < 1)
    throw new Error(`STREAMSCORE_REDIS_CLUSTER_PORT=${raw} is not a port`);
  return port;
}

function clusterPorts(): number[] {
  const base = basePort();
  return Array.from({ length: NODE_COUNT }, (_, i) => base + i);
}

let clusterChecked = false;

/**
 * Starts the Redis Cluster through the project's own script unless it already runs and is ok (once per
 * process). `url` is the seed node (any node would do: clients discover the others); `ports` are all six.
 */
export function ensureRedisCluster(): { readonly url: string; readonly ports: readonly number[] } {
  if (!clusterChecked) {
    execFileSync('bash', [join(projectRoot(), 'scripts', 'services.sh'), 'cluster-up'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    clusterChecked = true;
  }
  const ports = clusterPorts();
  return { url: `redis://${HOST}:${ports[0]}`, ports };
}

// ---------------------------------------------------------------------------------------------------------
// single nodes

function nodeClient(port: number): Redis {
  const r = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  return r;
}

async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = nodeClient(port);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** One client per port for a helper's many commands; closed by closeAll. */
async function connectAll(ports: readonly number[]): Promise<Map<number, Redis>> {
  const out = new Map<number, Redis>();
  try {
    for (const port of ports) {
      const r = nodeClient(port);
      out.set(port, r);
      await r.connect();
    }
  } catch (err) {
    closeAll(out);
    throw err;
  }
  return out;
}

function closeAll(clients: Map<number, Redis>): void {
  for (const r of clients.values()) r.disconnect();
}

function client(clients: Map<number, Redis>, port: number): Redis {
  const r = clients.get(port);
  if (r === undefined) throw new Error(`no connection to ${HOST}:${port}`);
  return r;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function cmd(r: Redis, ...args: [string, ...(string | number)[]]): Promise<unknown> {
  const [name, ...rest] = args;
  return r.call(name, ...rest);
}

/** `name:value` lines of an INFO / CLUSTER INFO reply. */
function infoFields(text: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of String(text).split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// CLUSTER NODES

interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly myself: boolean;
  readonly role: 'master' | 'replica' | 'other';
  /** The master's id, for a replica. */
  readonly masterId: string | null;
  /** Slot ranges served, inclusive ([start, end]); not the [slot->-id] / [slot-<-id] migration markers. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  /** The migration markers: open slots (listed on the node's own line only). */
  readonly open: readonly string[];
}

function parseNodes(text: unknown): NodeLine[] {
  const out: NodeLine[] = [];
  for (const line of String(text).split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [id, addr, flagText, master] = f as [string, string, string, string];
    const hostPort = addr.split(',')[0]?.split('@')[0] ?? '';
    const port = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
    const flags = flagText.split(',');
    const ranges: Array<[number, number]> = [];
    const open: string[] = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) {
        open.push(s);
        continue;
      }
      const [a, b] = s.split('-');
      ranges.push([Number(a), Number(b ?? a)]);
    }
    out.push({
      id,
      port,
      flags,
      myself: flags.includes('myself'),
      role: flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : 'other',
      masterId: master === '-' ? null : master,
      ranges,
      open,
    });
  }
  return out;
}

const slotCount = (n: NodeLine) => n.ranges.reduce((sum, [a, b]) => sum + (b - a + 1), 0);
const failing = (n: NodeLine) =>
  n.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr');

/** CLUSTER NODES of the first node (lowest port) that answers. */
async function readNodes(): Promise<NodeLine[]> {
  let last: unknown;
  for (const port of clusterPorts()) {
    try {
      return parseNodes(await withNode(port, (r) => cmd(r, 'CLUSTER', 'NODES')));
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`no node of the Redis Cluster answers CLUSTER NODES: ${String(last)}`);
}

/** The masters (not failed) and how many slots each serves, by port. */
export async function clusterMasters(): Promise<Array<{ id: string; port: number; slots: number }>> {
  return (await readNodes())
    .filter((n) => n.role === 'master' && !failing(n))
    .map((n) => ({ id: n.id, port: n.port, slots: slotCount(n) }))
    .sort((a, b) => a.port - b.port);
}

/** The port of the (first, by port) replica of the master with id `masterId`. */
export async function clusterReplicaOf(masterId: string): Promise<number> {
  const replica = (await readNodes())
    .filter((n) => n.role === 'replica' && n.masterId === masterId && !failing(n))
    .sort((a, b) => a.port - b.port)[0];
  if (replica === undefined) throw new Error(`the Redis Cluster has no replica of master ${masterId}`);
  return replica.port;
}

// ---------------------------------------------------------------------------------------------------------
// health

/** Why the cluster is not ok right now (one reason), or null when it is. */
async function clusterProblem(): Promise<string | null> {
  const views: string[] = [];
  for (const port of clusterPorts()) {
    let info: Map<string, string>;
    let nodes: NodeLine[];
    let repl: Map<string, string>;
    try {
      ({ info, nodes, repl } = await withNode(port, async (r) => ({
        info: infoFields(await cmd(r, 'CLUSTER', 'INFO')),
        nodes: parseNodes(await cmd(r, 'CLUSTER', 'NODES')),
        repl: infoFields(await cmd(r, 'INFO', 'replication')),
      })));
    } catch (err) {
      return `${HOST}:${port} does not answer (${String(err)})`;
    }
    const state = `cluster_state:${info.get('cluster_state')} cluster_slots_ok:${info.get('cluster_slots_ok')} cluster_known_nodes:${info.get('cluster_known_nodes')}`;
    if (state !== `cluster_state:ok cluster_slots_ok:${SLOTS} cluster_known_nodes:${NODE_COUNT}`) {
      return `${HOST}:${port} reports ${state}`;
    }
    const bad = nodes.filter(failing);
    if (bad.length > 0) {
      return `${HOST}:${port} flags ${bad.map((n) => `${n.port}(${n.flags.join(',')})`).join(' ')}`;
    }
    const open = nodes.find((n) => n.myself)?.open ?? [];
    if (open.length > 0) {
      // left by a resharding that died midway; `scripts/services.sh cluster-up` closes them (--cluster fix)
      return `${HOST}:${port} has open slot(s) ${open.join(' ')}`;
    }
    if (repl.get('role') === 'slave' && repl.get('master_link_status') !== 'up') {
      return `replica ${HOST}:${port}: master_link_status:${repl.get('master_link_status')}`;
    }
    // the slot map and the roles as this node sees them; every node must see the same
    views.push(
      nodes
        .map(
          (n) => `${n.id} ${n.role} ${n.masterId ?? '-'} ${n.ranges.map(([a, b]) => `${a}-${b}`).join(',')}`,
        )
        .sort()
        .join('\n'),
    );
  }
  const differ = views.findIndex((v) => v !== views[0]);
  if (differ > 0)
    return `${HOST}:${clusterPorts()[differ]} does not yet agree with ${HOST}:${clusterPorts()[0]} on the slot map / roles`;
  return null;
}

/** Until every node reports the cluster ok and all agree on slots and roles (see the file comment). */
export async function waitForClusterOk(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = await clusterProblem();
    if (problem === null) return;
    if (Date.now() >= deadline)
      throw new Error(`the Redis Cluster is not ok after ${timeoutMs} ms: ${problem}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------
// resharding

export interface MoveSlotsOptions {
  /**
   * Which slots to move (all served by `fromPort`; as many as `count`). Default: the `count` highest slots
   * of `fromPort`. A test that wants its keys caught mid-migration moves their slots (CLUSTER KEYSLOT).
   */
  readonly slots?: readonly number[];
  /** Keys per MIGRATE (default 10). */
  readonly keysPerBatch?: number;
  /**
   * Sleep after each MIGRATE batch while the slot is still MIGRATING on the source and IMPORTING on the
   * target: some of its keys are on the target, some still on the source, so clients meet -ASK (and
   * -TRYAGAIN for multi-key commands over keys on both sides). Default 0.
   */
  readonly pauseMsBetweenBatches?: number;
  /**
   * Called once per slot while it is half-migrated: after the first batch of its keys moved (at once if it
   * has no keys), before the rest. The slot stays MIGRATING/IMPORTING until the returned promise settles.
   */
  readonly onSlotHalfMigrated?: (slot: number) => void | Promise<void>;
  /** MIGRATE timeout (ms, default 5000). */
  readonly migrateTimeoutMs?: number;
}

/**
 * Live resharding of `count` slots from the master on `fromPort` to the master on `toPort`, slot by slot,
 * the way `redis-cli --cluster reshard` does it: CLUSTER SETSLOT <slot> IMPORTING on the target and
 * MIGRATING on the source, CLUSTER GETKEYSINSLOT + MIGRATE … KEYS in batches until the slot is empty on the
 * source, then CLUSTER SETSLOT <slot> NODE <target> on the target, the source and the other masters.
 * The source keeps at least one slot (a master left with none would lose its replica to another master).
 * Resolves with the slots moved once the cluster is ok again. If it throws midway, a slot may be left
 * open (MIGRATING/IMPORTING): `bash scripts/services.sh cluster-down` + cluster-up start afresh.
 */
export async function moveSlots(
  fromPort: number,
  toPort: number,
  count: number,
  /** A number: pauseMsBetweenBatches. */
  options: number | MoveSlotsOptions = {},
): Promise<number[]> {
  const opts: MoveSlotsOptions = typeof options === 'number' ? { pauseMsBetweenBatches: options } : options;
  if (fromPort === toPort) throw new Error(`moveSlots: source and target are both ${HOST}:${fromPort}`);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`moveSlots: count must be a positive integer (got ${count})`);
  const batch = opts.keysPerBatch ?? 10;
  const pauseMs = opts.pauseMsBetweenBatches ?? 0;
  const migrateTimeout = opts.migrateTimeoutMs ?? 5000;

  await waitForClusterOk();
  const nodes = parseNodes(await withNode(fromPort, (r) => cmd(r, 'CLUSTER', 'NODES')));
  const source = nodes.find((n) => n.port === fromPort);
  const target = nodes.find((n) => n.port === toPort);
  if (source?.role !== 'master') throw new Error(`moveSlots: ${HOST}:${fromPort} is not a master`);
  if (target?.role !== 'master') throw new Error(`moveSlots: ${HOST}:${toPort} is not a master`);
  const owned = source.ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
  const ownedSet = new Set(owned);
  let slots: number[];
  if (opts.slots !== undefined) {
    if (opts.slots.length !== count)
      throw new Error(`moveSlots: ${opts.slots.length} slots given, count ${count}`);
    const foreign = opts.slots.filter((s) => !ownedSet.has(s));
    if (foreign.length > 0)
      throw new Error(`moveSlots: ${HOST}:${fromPort} does not serve slot(s) ${foreign.join(',')}`);
    slots = [...new Set(opts.slots)];
    if (slots.length !== count) throw new Error('moveSlots: the same slot is given twice');
  } else {
    slots = owned.slice(-count);
  }
  if (owned.length - slots.length < 1) {
    throw new Error(`moveSlots: ${HOST}:${fromPort} serves ${owned.length} slots; it must keep at least one`);
  }
  const otherMasters = nodes
    .filter((n) => n.role === 'master' && !failing(n) && n.id !== source.id && n.id !== target.id)
    .map((n) => n.port);

  const clients = await connectAll([fromPort, toPort, ...otherMasters]);
  const src = client(clients, fromPort);
  const dst = client(clients, toPort);
  try {
    for (const slot of slots) {
      await cmd(dst, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
      await cmd(src, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
      let halfway = false;
      for (;;) {
        const keys = (await cmd(src, 'CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
        if (keys.length === 0) break;
        const reply = await cmd(src, 'MIGRATE', HOST, toPort, '', 0, migrateTimeout, 'KEYS', ...keys);
        if (reply !== 'OK' && reply !== 'NOKEY')
          throw new Error(`MIGRATE of slot ${slot} answered ${String(reply)}`);
        if (pauseMs > 0) await sleep(pauseMs);
        if (!halfway) {
          halfway = true;
          await opts.onSlotHalfMigrated?.(slot);
        }
      }
      if (!halfway) await opts.onSlotHalfMigrated?.(slot);
      // the target first (it leaves IMPORTING and bumps its config epoch), then the source, then the rest
      await cmd(dst, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
      await cmd(src, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
      for (const port of otherMasters)
        await cmd(client(clients, port), 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    }
  } finally {
    closeAll(clients);
  }
  await waitForClusterOk();
  return slots;
}

// ---------------------------------------------------------------------------------------------------------
// failover, data loss

async function role(port: number): Promise<string> {
  return withNode(port, async (r) => String(((await cmd(r, 'ROLE')) as unknown[])[0]));
}

/**
 * Graceful manual failover of the master on `masterPort`: CLUSTER FAILOVER on its replica (which first
 * catches up with the master while the master holds its clients, so no acknowledged write is lost). Resolves
 * with the new master's port once the old master is its replica and the cluster is ok.
 */
export async function failover(masterPort: number): Promise<number> {
  await waitForClusterOk();
  if ((await role(masterPort)) !== 'master')
    throw new Error(`failover: ${HOST}:${masterPort} is not a master`);
  const masterId = String(await withNode(masterPort, (r) => cmd(r, 'CLUSTER', 'MYID')));
  const replicaPort = await clusterReplicaOf(masterId);
  const deadline = Date.now() + DEFAULT_WAIT_MS;
  // a manual failover that does not complete within its 5 s (CLUSTER_MF_TIMEOUT) is abandoned: ask again
  for (let attempt = 1; ; attempt++) {
    const ok = await withNode(replicaPort, (r) => cmd(r, 'CLUSTER', 'FAILOVER'));
    if (ok !== 'OK') throw new Error(`CLUSTER FAILOVER on ${HOST}:${replicaPort} answered ${String(ok)}`);
    const attemptEnd = Math.min(deadline, Date.now() + 10_000);
    while (Date.now() < attemptEnd) {
      if ((await role(replicaPort)) === 'master' && (await role(masterPort)) === 'slave') {
        await waitForClusterOk();
        return replicaPort;
      }
      await sleep(100);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `failover: ${HOST}:${replicaPort} did not take over from ${HOST}:${masterPort} (${attempt} attempts)`,
      );
    }
  }
}

/** FLUSHALL on the master on `masterPort` (its replica follows): that shard of the cluster loses all its data. */
export async function flushNode(masterPort: number): Promise<void> {
  await waitForClusterOk();
  await withNode(masterPort, async (r) => {
    const info = infoFields(await cmd(r, 'INFO', 'replication'));
    if (info.get('role') !== 'master') throw new Error(`flushNode: ${HOST}:${masterPort} is not a master`);
    await cmd(r, 'FLUSHALL');
    // until the replica has applied it too
    const replicas = Number(info.get('connected_slaves') ?? 0);
    if (replicas > 0) {
      const acked = Number(await cmd(r, 'WAIT', replicas, 10_000));
      if (acked < replicas)
        throw new Error(`flushNode: only ${acked} of ${replicas} replicas acknowledged the FLUSHALL`);
    }
  });
  await waitForClusterOk();
}

// ---------------------------------------------------------------------------------------------------------
// cleanup

/**
 * Deletes the keys matching `pattern` from the cluster at `url`: SCAN with MATCH on every master, then a DEL
 * per key through the cluster client (a DEL of keys in different slots is refused).
 */
export async function deleteClusterKeys(url: string, pattern: string): Promise<void> {
  const u = new URL(url);
  const cluster = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions: {
      ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
      ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    },
  });
  cluster.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the Redis Cluster at ${url} is not ready within 10 s`)),
        10_000,
      );
      cluster.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        await Promise.all(keys.map((k) => cluster.del(k)));
      } while (cursor !== '0');
    }
  } finally {
    cluster.disconnect();
  }
}
