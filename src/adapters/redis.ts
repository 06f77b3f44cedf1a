/**
 * The only place that imports ioredis. The pipeline sees `RedisStore`: batches of script calls sent
 * together before waiting once (one round trip's latency), and the few plain reads it needs. Scripts are
 * given by the caller (the sink owns its Lua); the adapter only knows how to run them.
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, Command, Redis } from 'ioredis';
import type { ClusterNode, RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { runsIn, runsOf } from '../util/runs.js';
import { MIN_BUFFER_CHARS, installCommandEncoder, packScriptArgs } from './redis-wire.js';
import { tlsOptions } from './tls.js';

// large commands (a window's script calls) go to the socket as one Buffer each (see redis-wire.ts)
installCommandEncoder(Command.prototype as unknown as Parameters<typeof installCommandEncoder>[0]);

export interface ScriptSource {
  readonly name: string;
  readonly lua: string;
}

export interface ScriptCall {
  readonly script: ScriptSource;
  readonly keys: readonly string[];
  readonly args: readonly string[];
  /** The key count, keys and arguments already written as RESP (RedisStore.pack); keys and args are then empty. */
  readonly packed?: Buffer;
}

export interface RedisStore {
  /**
   * A Redis Cluster: every script call's keys must share one hash slot (src/sink/slots.ts); calls of one
   * batch are sent pipelined per node.
   */
  readonly cluster: boolean;
  /** One hash slot served by each master (a cluster), or [0]: to sample per-slot fences of every node. */
  masterSlots(): number[];
  /**
   * Sends every call before waiting once (pipelines of at most PIPELINE_BYTES of arguments each, a pipeline
   * of one call as that command alone; on one connection, so Redis runs them in order); results in call
   * order. Any failure rejects the whole batch (other calls of it may have run: callers write only what is
   * safe to write again). On a single Redis the calls are taken from `calls` one at a time and each
   * pipeline is sent as soon as it is full, so a lazily built batch (a generator) has Redis running its
   * first calls while the next are built.
   */
  runScripts(calls: Iterable<ScriptCall>): Promise<unknown[]>;
  /**
   * The call as this store will send it, made now: on a single Redis a large call's keys and arguments are
   * written as RESP bytes at once (see packScriptArgs), so the strings built for it can be collected before
   * the batch is sent; on a cluster (slots are read from the keys when sent) and for small calls, the call.
   */
  pack(call: ScriptCall): ScriptCall;
  get(key: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hget(keys: readonly string[], field: string): Promise<Array<string | null>>;
  /** The keys matching a glob pattern, in batches (SCAN: no blocking, a key may come twice). */
  scan(match: string, count: number): AsyncIterable<string[]>;
  close(): Promise<void>;
}

type Call = (...a: string[]) => Promise<unknown>;

/** host and port of a redis:// URL (its credentials go to the client options, not the node list). */
function node(url: string): ClusterNode {
  const u = new URL(url);
  return { host: u.hostname, port: u.port === '' ? 6379 : Number(u.port) };
}

function clientOf(cfg: Config['redis'], connectionName: string): Redis | Cluster {
  const common: RedisOptions = {
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(cfg.password === undefined ? {} : { password: cfg.password }),
    ...(cfg.tls === undefined ? {} : { tls: tlsOptions('redis.tls', cfg.tls) }),
    connectionName,
    maxRetriesPerRequest: 3,
  };
  if (!cfg.cluster)
    return new Redis(cfg.url, { ...common, db: cfg.db, lazyConnect: false, enableAutoPipelining: false });
  const u = new URL(cfg.url);
  const fromUrl: RedisOptions = {
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
  };
  // script calls go in pipelines per node (runOnCluster), and on their own when redirected: a command of
  // its own follows MOVED and ASK and retries TRYAGAIN (a slot half-migrated) after 100 ms. Not
  // auto-pipelining: it groups script calls by their first argument (the key count), not by their first
  // key, and mixes nodes in one pipeline
  return new Cluster([cfg.url, ...cfg.clusterNodes].map(node), {
    redisOptions: { ...fromUrl, ...common },
    enableAutoPipelining: false,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnTryAgain: 100,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    // the slot map is also refreshed every 5 s (not only on MOVED), for the watch's one-copy-per-master
    // sample and the scans of every master
    slotsRefreshInterval: 5000,
  });
}

/**
 * Arguments per pipeline, about. ioredis joins a pipeline's commands into one piece before writing it (one
 * string, or one Buffer once a command is a Buffer, see redis-wire.ts): a 20,000-entity window's commit
 * in one pipeline was an 11 MB string, flattened and copied to UTF-8 in one piece. In pipelines of this
 * size no such piece is made, and each pipeline is handed to the socket as it is built, so Redis can start
 * on the first while the next is encoded. (What the kernel does not take at once still waits in the
 * socket's queue: the bytes in flight are not bounded by this.)
 */
const PIPELINE_BYTES = 256 * 1024;

/** Consecutive runs of calls (given by index) of about PIPELINE_BYTES of keys and arguments each. */
export function pipelineChunks(
  calls: readonly ScriptCall[],
  indices: readonly number[],
  maxBytes = PIPELINE_BYTES,
): number[][] {
  return runsOf(indices, (i) => callBytes(calls[i] as ScriptCall), maxBytes);
}

function callBytes(c: ScriptCall): number {
  if (c.packed !== undefined) return c.packed.length;
  let size = 0;
  for (const k of c.keys) size += k.length;
  for (const a of c.args) size += a.length;
  return size;
}

const send = (target: Redis | Cluster | ReturnType<Cluster['pipeline']>, c: ScriptCall) =>
  c.packed !== undefined
    ? (target as unknown as Record<string, (b: Buffer) => Promise<unknown>>)[c.script.name]!(c.packed)
    : (target as unknown as Record<string, Call>)[c.script.name]!(
        String(c.keys.length),
        ...c.keys,
        ...c.args,
      );

const NO_STRINGS: readonly string[] = [];

type Replies = Array<[Error | null, unknown]>;
/** A command sent on its own, answered as a pipeline of one would be (runScripts reads both alike). */
const alone = (value: unknown): Replies => [[null, value]];
const failedAlone = (err: unknown): Replies => [
  [err instanceof Error ? err : new Error(String(err)), undefined],
];

/** An answer that means "ask another node, or again" (or load the script): the call is sent once more on its own. */
const REDIRECTED =
  /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)\b|Connection is closed|ECONNRESET|ECONNREFUSED/;

/**
 * Script calls on a cluster (each call's keys are in one slot): pipelines per master (see PIPELINE_BYTES)
 * as the client's slot map has them, then every call a pipeline could not place (a slot that moved, is
 * half-migrated, or a node failing over) once more as a command of its own, which follows MOVED and ASK
 * and retries TRYAGAIN. Every call is settled before a failure is reported, as a single Redis's pipeline
 * would have run them all.
 */
/** The error to report of two: a fence's refusal (SSEPOCH, SSRUN) before anything else, else the first. */
function worse(kept: unknown, next: unknown): unknown {
  const fence = (e: unknown) => /SSEPOCH|SSRUN/.test((e as Error | undefined)?.message ?? '');
  return kept === undefined || (!fence(kept) && fence(next)) ? next : kept;
}

async function runOnCluster(cluster: Cluster, calls: readonly ScriptCall[]): Promise<unknown[]> {
  const owners = (cluster as unknown as { slots: Array<string[] | undefined> }).slots;
  const byNode = new Map<string, number[]>();
  calls.forEach((c, i) => {
    const slot = calculateSlot(c.keys[0] ?? '');
    const owner = owners[slot]?.[0] ?? `slot ${slot}`;
    const group = byNode.get(owner);
    if (group === undefined) byNode.set(owner, [i]);
    else group.push(i);
  });
  const out: unknown[] = new Array<unknown>(calls.length);
  const again: number[] = [];
  let failure: unknown;
  await Promise.all(
    [...byNode.values()]
      .flatMap((onNode) => pipelineChunks(calls, onNode))
      .map(async (group) => {
        const pipe = cluster.pipeline();
        for (const i of group) void send(pipe, calls[i] as ScriptCall);
        let results: Array<[Error | null, unknown]> | null = null;
        try {
          results = await pipe.exec();
        } catch {
          // the whole pipeline could not be placed (e.g. its keys now span nodes): each call on its own
        }
        group.forEach((i, n) => {
          const [err, value] = results?.[n] ?? [new Error('Connection is closed (pipeline)'), undefined];
          if (err === null) out[i] = value;
          else if (REDIRECTED.test(err.message)) again.push(i);
          else failure = worse(failure, err);
        });
      }),
  );
  const retried = await Promise.allSettled(again.map((i) => send(cluster, calls[i] as ScriptCall)));
  retried.forEach((r, n) => {
    if (r.status === 'fulfilled') out[again[n] as number] = r.value;
    else failure = worse(failure, r.reason);
  });
  if (failure !== undefined) throw failure;
  return out;
}

export function createRedisStore(cfg: Config['redis'], connectionName = 'streamscore'): RedisStore {
  const client = clientOf(cfg, connectionName);
  const cluster = client instanceof Cluster ? client : undefined;
  const defined = new Set<string>();
  let closed = false;

  function wrap(cause: unknown, what: string): StreamscoreError {
    return new StreamscoreError('SS_REDIS', `redis ${what} failed: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  }

  return {
    cluster: cluster !== undefined,
    pack(call) {
      if (cluster !== undefined || call.packed !== undefined || callBytes(call) < MIN_BUFFER_CHARS)
        return call;
      return {
        script: call.script,
        keys: NO_STRINGS,
        args: NO_STRINGS,
        packed: packScriptArgs(call.keys, call.args),
      };
    },
    async runScripts(calls) {
      // defineCommand sends EVALSHA and falls back to EVAL once when the script cache was flushed; a
      // pipeline only knows the commands defined before it was made
      const define = (c: ScriptCall) => {
        if (!defined.has(c.script.name)) {
          client.defineCommand(c.script.name, { lua: c.script.lua });
          defined.add(c.script.name);
        }
      };
      if (cluster !== undefined) {
        const all = [...calls];
        all.forEach(define);
        // a programming error, not a Redis failure: never retried as one
        if (all.some((c) => c.packed !== undefined))
          throw new TypeError('a script call packed for a single Redis was sent to a cluster');
        if (all.length === 0) return [];
        return runOnCluster(cluster, all).catch((cause) => {
          throw wrap(cause, 'script');
        });
      }
      const sent: Array<Promise<Replies | null>> = [];
      try {
        for (const chunk of runsIn(calls, callBytes, PIPELINE_BYTES)) {
          chunk.forEach(define);
          // a call alone (most: a call of 100 entities is about as large as a pipeline) goes as a command
          // of its own, straight to the socket: ioredis joins a pipeline's commands with Buffer.concat, a
          // copy of every byte even for one command
          if (chunk.length === 1) sent.push(send(client, chunk[0] as ScriptCall).then(alone, failedAlone));
          else {
            const pipe = client.pipeline();
            for (const c of chunk) void send(pipe, c);
            sent.push(pipe.exec());
          }
        }
      } catch (err) {
        // making a call failed (the caller's error, reported as it is): what was sent is not waited for
        for (const p of sent) p.catch(() => undefined);
        throw err;
      }
      let replies: Array<Replies | null>;
      try {
        replies = await Promise.all(sent);
      } catch (cause) {
        throw wrap(cause, 'script pipeline');
      }
      const out: unknown[] = [];
      for (const results of replies) {
        if (results === null) throw wrap(new Error('pipeline was discarded'), 'script pipeline');
        for (const [err, value] of results) {
          if (err !== null) throw wrap(err, 'script');
          out.push(value);
        }
      }
      return out;
    },
    async get(key) {
      try {
        return await client.get(key);
      } catch (cause) {
        throw wrap(cause, 'GET');
      }
    },
    async hgetall(key) {
      try {
        return await client.hgetall(key);
      } catch (cause) {
        throw wrap(cause, 'HGETALL');
      }
    },
    async hget(keys, field) {
      if (keys.length === 0) return [];
      try {
        if (cluster !== undefined)
          return await Promise.all(keys.map(async (k) => (await cluster.hget(k, field)) ?? null));
        const pipe = client.pipeline();
        for (const k of keys) pipe.hget(k, field);
        const results = (await pipe.exec()) ?? [];
        return results.map(([err, v]) => {
          if (err !== null) throw err;
          return (v as string | null) ?? null;
        });
      } catch (cause) {
        throw wrap(cause, 'HGET');
      }
    },
    async *scan(match, count) {
      // on a cluster every master holds its own keys: scan each (a slot moving meanwhile may show a key
      // twice, never hide one that stays put)
      for (const node of cluster === undefined ? [client as Redis] : cluster.nodes('master')) {
        let cursor = '0';
        do {
          let reply: [string, string[]];
          try {
            reply = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
          } catch (cause) {
            throw wrap(cause, 'SCAN');
          }
          cursor = reply[0];
          if (reply[1].length > 0) yield reply[1];
        } while (cursor !== '0');
      }
    },
    masterSlots() {
      if (cluster === undefined) return [0];
      const first = new Map<string, number>();
      const slots = (cluster as unknown as { slots: Array<string[] | undefined> }).slots;
      slots.forEach((owners, slot) => {
        const master = owners?.[0];
        if (master !== undefined && !first.has(master)) first.set(master, slot);
      });
      return [...first.values()];
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
