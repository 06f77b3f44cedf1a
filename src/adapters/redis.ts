/**
 * The only place that imports ioredis. The pipeline sees `RedisStore`: batches of script calls sent in one
 * pipeline (one round trip), and the few plain reads it needs. Scripts are given by the caller (the sink
 * owns its Lua); the adapter only knows how to run them.
 */
import { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { tlsOptions } from './tls.js';

export interface ScriptSource {
  readonly name: string;
  readonly lua: string;
}

export interface ScriptCall {
  readonly script: ScriptSource;
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

export interface RedisStore {
  /**
   * Sends every call in one pipeline and waits once; results in call order. Any failure rejects the whole
   * batch (calls before it may have run: callers write only what is safe to write again).
   */
  runScripts(calls: readonly ScriptCall[]): Promise<unknown[]>;
  get(key: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hget(keys: readonly string[], field: string): Promise<Array<string | null>>;
  /** The keys matching a glob pattern, in batches (SCAN: no blocking, a key may come twice). */
  scan(match: string, count: number): AsyncIterable<string[]>;
  close(): Promise<void>;
}

type Call = (...a: string[]) => unknown;

export function createRedisStore(cfg: Config['redis'], connectionName = 'streamscore'): RedisStore {
  const client = new Redis(cfg.url, {
    db: cfg.db,
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(cfg.password === undefined ? {} : { password: cfg.password }),
    ...(cfg.tls === undefined ? {} : { tls: tlsOptions('redis.tls', cfg.tls) }),
    connectionName,
    lazyConnect: false,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: false,
  });
  const defined = new Set<string>();
  let closed = false;

  function wrap(cause: unknown, what: string): StreamscoreError {
    return new StreamscoreError('SS_REDIS', `redis ${what} failed: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  }

  return {
    async runScripts(calls) {
      if (calls.length === 0) return [];
      for (const c of calls) {
        // defineCommand sends EVALSHA and falls back to EVAL once when the script cache was flushed; a
        // pipeline only knows the commands defined before it was made
        if (!defined.has(c.script.name)) {
          client.defineCommand(c.script.name, { lua: c.script.lua });
          defined.add(c.script.name);
        }
      }
      const pipe = client.pipeline();
      for (const c of calls) {
        (pipe as unknown as Record<string, Call>)[c.script.name]!(
          String(c.keys.length),
          ...c.keys,
          ...c.args,
        );
      }
      let results: Array<[Error | null, unknown]> | null;
      try {
        results = await pipe.exec();
      } catch (cause) {
        throw wrap(cause, 'script pipeline');
      }
      if (results === null) throw wrap(new Error('pipeline was discarded'), 'script pipeline');
      const out: unknown[] = [];
      for (const [err, value] of results) {
        if (err !== null) throw wrap(err, 'script');
        out.push(value);
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
      const pipe = client.pipeline();
      for (const k of keys) pipe.hget(k, field);
      try {
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
      let cursor = '0';
      do {
        let reply: [string, string[]];
        try {
          reply = await client.scan(cursor, 'MATCH', match, 'COUNT', count);
        } catch (cause) {
          throw wrap(cause, 'SCAN');
        }
        cursor = reply[0];
        if (reply[1].length > 0) yield reply[1];
      } while (cursor !== '0');
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
