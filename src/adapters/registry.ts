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

export function createRegistryClient(cfg: Config['registry']): SchemaRegistryClient {
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
        {
          cause,
          retriable: true,
        },
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
        p = call('GET', `/schemas/ids/${id}`).then(({ status, json }) => {
          if (status === 404) {
            throw new StreamscoreError('SS_UNKNOWN_SCHEMA', `schema id ${id} is not in the registry`);
          }
          if (status >= 300) fail(`fetching schema ${id}`, status, json);
          return JSON.parse((json as { schema: string }).schema) as unknown;
        });
        p.catch(() => schemaCache.delete(id));
        schemaCache.set(id, p);
      }
      return p;
    },
  };
}
