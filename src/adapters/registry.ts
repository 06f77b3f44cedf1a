/**
 * The only place that talks to the schema registry (Confluent API; locally Apicurio's /apis/ccompat/v7).
 * Registering uses @kafkajs/confluent-schema-registry; the calls it lacks (compatibility check, per-subject
 * config) and writer-schema lookups go straight to the REST API. Encoding and decoding are not here: they
 * are local to the emit and decode stages, with no registry call per record.
 */
import registryLib from '@kafkajs/confluent-schema-registry';
import { redactUrl } from '../config/index.js';
import type { Config } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';

const { SchemaRegistry, SchemaType } = registryLib;

export type Compatibility =
  'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';

export interface CompatibilityResult {
  readonly subjectExists: boolean;
  readonly compatible: boolean;
  readonly messages: readonly string[];
}

/** What streamscore needs from a registry. */
export interface SchemaRegistryClient {
  register(subject: string, schema: string, compatibility: Compatibility): Promise<number>;
  checkCompatibility(subject: string, schema: string): Promise<CompatibilityResult>;
  /** The writer schema of `id` as parsed Avro JSON (for decoders that walk Debezium's connect.* attributes). */
  avroSchema(id: number): Promise<unknown>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** The registry's error code for "no schema with this id" (Confluent and Apicurio's ccompat API). */
const SCHEMA_NOT_FOUND = 40403;

/**
 * A writer-schema answer, sorted by whose problem it is. Only a definite "this id does not exist"
 * (404 + error code 40403) and a schema that is not Avro are about the records that carry the id
 * (SS_UNKNOWN_SCHEMA, non-retriable: they go to the DLQ). Everything else — 401/403/429, 5xx, a 404 without
 * the registry's error code (a wrong URL), a body that is not the expected JSON — is the registry's or the
 * deployment's problem: retriable, so the window waits and retries and its records stay where they are.
 */
export function writerSchemaOf(id: number, status: number, json: unknown): unknown {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
  if (status === 404 && body?.error_code === SCHEMA_NOT_FOUND) {
    throw new StreamscoreError('SS_UNKNOWN_SCHEMA', `schema id ${id} is not in the registry`);
  }
  const problem = (what: string) =>
    new StreamscoreError('SS_REGISTRY', `fetching writer schema ${id}: ${what}`, { retriable: true });
  if (status !== 200) {
    const hint =
      status === 401 || status === 403
        ? ' (check registry.username/password)'
        : status === 404
          ? ' without the registry\'s "not found" code: is registry.url the API root (…/apis/ccompat/v7)?'
          : status === 429
            ? ' (rate limited)'
            : '';
    throw problem(`the registry answered ${status}${hint} ${JSON.stringify(json).slice(0, 200)}`);
  }
  if (body === undefined || typeof body.schema !== 'string') {
    throw problem(`the registry's answer is not a schema: ${JSON.stringify(json).slice(0, 200)}`);
  }
  const type = typeof body.schemaType === 'string' ? body.schemaType.toUpperCase() : 'AVRO';
  if (type !== 'AVRO') {
    throw new StreamscoreError('SS_UNKNOWN_SCHEMA', `schema id ${id} is a ${type} schema, not Avro`);
  }
  try {
    return JSON.parse(body.schema) as unknown;
  } catch {
    throw new StreamscoreError('SS_UNKNOWN_SCHEMA', `schema id ${id} is not valid JSON Avro`);
  }
}

export function createRegistryClient(
  cfg: Pick<Config['registry'], 'url' | 'username' | 'password'>,
): SchemaRegistryClient {
  const base = cfg.url.replace(/\/+$/, '');
  const auth =
    cfg.username !== undefined ? { username: cfg.username, password: cfg.password ?? '' } : undefined;
  const lib = new SchemaRegistry({ host: base, ...(auth === undefined ? {} : { auth }) });
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE };
  if (auth !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
  const schemaCache = new Map<number, Promise<unknown>>();

  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new StreamscoreError(
        'SS_SERVICE_UNAVAILABLE',
        `schema registry at ${redactUrl(base)} is unreachable: ${String(cause)}`,
        { cause, retriable: true, details: { service: 'registry' } },
      );
    }
    const text = await res.text();
    let json: unknown = text;
    try {
      json = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      // keep the text for the error message
    }
    return { status: res.status, json };
  }

  function fail(what: string, status: number, json: unknown): never {
    throw new StreamscoreError(
      'SS_REGISTRY',
      `${what}: registry answered ${status} ${JSON.stringify(json)}`,
      {
        retriable: status >= 500,
      },
    );
  }

  return {
    async register(subject, schema, compatibility) {
      // Set the subject's level first: the library refuses to register when the subject's level differs
      // from the one it is given, and Apicurio reports the global level for subjects without their own.
      // 409: another instance created the subject's rule at the same moment; the same PUT then updates it
      let cfgRes = await call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility });
      for (let i = 0; i < 3 && cfgRes.status === 409; i++) {
        await new Promise((r) => setTimeout(r, 100 * (i + 1)));
        cfgRes = await call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility });
      }
      if (cfgRes.status >= 300) fail(`setting compatibility of ${subject}`, cfgRes.status, cfgRes.json);
      try {
        const { id } = await lib.register(
          { type: SchemaType.AVRO, schema },
          { subject, compatibility: compatibility as never, updateConfig: false },
        );
        return id;
      } catch (cause) {
        const incompatible = /incompatible|compatib/i.test(String((cause as Error).message));
        throw new StreamscoreError(
          incompatible ? 'SS_SCHEMA_INCOMPATIBLE' : 'SS_REGISTRY',
          `registering ${subject} failed: ${(cause as Error).message}`,
          { cause },
        );
      }
    },
    async checkCompatibility(subject, schema) {
      const versions = await call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
      if (versions.status === 404) return { subjectExists: false, compatible: true, messages: [] };
      if (versions.status >= 300) fail(`listing versions of ${subject}`, versions.status, versions.json);
      const res = await call(
        'POST',
        `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
        {
          schema,
        },
      );
      if (res.status === 422 || res.status === 409) {
        return { subjectExists: true, compatible: false, messages: [JSON.stringify(res.json)] };
      }
      if (res.status >= 300) fail(`checking ${subject}`, res.status, res.json);
      const body = res.json as { is_compatible?: boolean; messages?: string[] };
      return { subjectExists: true, compatible: body.is_compatible === true, messages: body.messages ?? [] };
    },
    avroSchema(id) {
      let p = schemaCache.get(id);
      if (p === undefined) {
        p = call('GET', `/schemas/ids/${id}`).then(({ status, json }) => writerSchemaOf(id, status, json));
        p.catch(() => schemaCache.delete(id));
        schemaCache.set(id, p);
      }
      return p;
    },
  };
}
