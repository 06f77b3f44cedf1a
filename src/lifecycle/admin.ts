/**
 * What `streamscore models …` and the admin HTTP endpoints do: list the store with its aliases, show a
 * version, promote a version to an alias, roll an alias back. A promotion is checked here first (the
 * version loads with its sha256, and fits the alias's current target) and then written to the control
 * topic; every instance checks it again against what it runs before switching (slot.ts).
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { readToEnd } from '../adapters/kafka-replay.js';
import { createKafkaClient } from '../adapters/kafka.js';
import type { KafkaClient } from '../adapters/kafka.js';
import { createPlainProducer } from '../adapters/kafka-produce.js';
import type { Config } from '../config/index.js';
import { AdminRefusal } from '../observe/http.js';
import { describeError, StreamscoreError } from '../errors/index.js';
import { loadModel } from '../models/index.js';
import type { LoadedModel } from '../models/index.js';
import { compatibilityProblems, keptStateFor } from './compat.js';
import { ALIAS_PATTERN, decodePromotion, encodePromotion, promotionKey } from './control.js';
import type { ModelPromotion } from './control.js';
import { listVersions, storedVersion } from './store.js';
import type { StoredVersion } from './store.js';

export interface AliasView {
  readonly aliases: ReadonlyMap<string, ModelPromotion>;
  /** Per control partition, the offset after the records read: a follower picks up there. */
  readonly ends: ReadonlyMap<number, bigint>;
  /** Control records under a promotion key that could not be read (named, skipped). */
  readonly invalid: readonly string[];
}

/** The latest promotion of each alias of the pipeline's model, from the whole control topic. */
export async function readAliases(kafka: KafkaClient, config: Readonly<Config>): Promise<AliasView> {
  const log = await readToEnd(
    kafka,
    config.control.topic,
    `${config.consumer.groupId}.control-read.${randomUUID()}`,
    {
      fetchMaxBytes: 1 << 20,
    },
  );
  const aliases = new Map<string, ModelPromotion>();
  const invalid: string[] = [];
  for (const r of log.records) {
    const key = r.key?.toString() ?? '';
    try {
      const p = decodePromotion(r.key, r.value, `${r.partition}@${r.offset}`);
      if (p === undefined) {
        // a tombstone removes the alias
        for (const [alias] of aliases)
          if (key === promotionKey(config.pipeline.name, config.model.name, alias)) aliases.delete(alias);
        continue;
      }
      if (p.pipeline === config.pipeline.name && p.model === config.model.name) aliases.set(p.alias, p);
    } catch (err) {
      invalid.push(describeError(err));
    }
  }
  return { aliases, invalid, ends: log.ends };
}

export interface PromoteRequest {
  readonly to: string;
  readonly alias: string;
  readonly by: string;
  readonly reason: string;
  /** Write the promotion even if it does not fit the alias's current target (instances still refuse it). */
  readonly force?: boolean;
}

export interface ModelAdmin {
  list(): Promise<{ versions: StoredVersion[]; aliases: ModelPromotion[]; invalid: readonly string[] }>;
  show(version: string): Promise<StoredVersion>;
  promote(req: PromoteRequest): Promise<ModelPromotion>;
  rollback(req: Omit<PromoteRequest, 'to'>): Promise<ModelPromotion>;
  close(): Promise<void>;
}

function usage(message: string): StreamscoreError {
  return new StreamscoreError('SS_CLI_USAGE', message);
}

export function modelAdmin(config: Readonly<Config>, projectDir = process.cwd()): ModelAdmin {
  const dir = resolve(projectDir, config.model.dir);
  const name = config.model.name;
  const kafka = createKafkaClient(config.kafka);
  const producer = createPlainProducer(kafka);

  const tryLoad = async (version: string): Promise<LoadedModel | undefined> =>
    loadModel(dir, name, version).catch(() => undefined);

  const promote = async (req: PromoteRequest): Promise<ModelPromotion> => {
    if (!ALIAS_PATTERN.test(req.alias))
      throw usage(`alias "${req.alias}": use letters, digits, "_", "." or "-" (at most 64)`);
    if (req.by.trim() === '' || req.reason.trim() === '')
      throw usage('a promotion needs who (--by) and why (--reason): both go on the record');
    const { aliases } = await readAliases(kafka, config);
    const previous = aliases.get(req.alias);
    const from = previous?.to ?? config.model.version;
    // the target must load as it is now: sha256 against model.json, ONNX signature against its spec
    const candidate = await loadModel(dir, name, req.to);
    try {
      if (previous !== undefined && previous.to === req.to && previous.sha256 === candidate.sha256)
        throw usage(`${req.alias} already names ${name}/${req.to}`);
      const running = await tryLoad(from);
      if (running !== undefined) {
        const problems = compatibilityProblems(running, candidate, keptStateFor(running.featureSpec));
        await running.close();
        if (problems.length > 0 && req.force !== true)
          throw new StreamscoreError(
            'SS_MODEL_INCOMPATIBLE',
            `${name}/${req.to} cannot take over ${req.alias} from ${name}/${from}:\n  - ${problems.join('\n  - ')}`,
            { details: { problems } },
          );
      }
      const record: ModelPromotion = {
        kind: 'model-promotion',
        pipeline: config.pipeline.name,
        model: name,
        alias: req.alias,
        to: req.to,
        sha256: candidate.sha256,
        // before its first promotion an alias serves model.version (serve.ts): that is what it replaces
        from,
        by: req.by,
        reason: req.reason,
        at: new Date().toISOString(),
      };
      await producer.send(config.control.topic, [
        { partition: 0, key: promotionKey(record.pipeline, name, req.alias), value: encodePromotion(record) },
      ]);
      return record;
    } finally {
      await candidate.close();
    }
  };

  return {
    async list() {
      const [versions, view] = await Promise.all([listVersions(dir, name), readAliases(kafka, config)]);
      return { versions, aliases: [...view.aliases.values()], invalid: view.invalid };
    },
    async show(version) {
      const v = await storedVersion(dir, name, version);
      if (v.problem !== undefined)
        throw new StreamscoreError('SS_MODEL_LOAD', `${name}/${version} in ${dir}: ${v.problem}`);
      return v;
    },
    promote,
    async rollback(req) {
      const { aliases } = await readAliases(kafka, config);
      const current = aliases.get(req.alias);
      if (current === undefined) throw usage(`${req.alias} was never promoted: nothing to roll back`);
      if (current.from === null)
        throw usage(
          `${req.alias} has named ${name}/${current.to} since its first promotion: nothing to roll back to`,
        );
      return promote({ ...req, to: current.from });
    },
    async close() {
      await producer.close();
    },
  };
}

/**
 * The admin HTTP endpoints' view of modelAdmin (observe/http.ts): JSON bodies `{ version, alias?, by?,
 * reason }`; a bad request answers 400, a refused promotion 409 with the problems.
 */
export function httpModelAdmin(config: Readonly<Config>, projectDir: string) {
  let admin: ModelAdmin | undefined;
  const get = () => (admin ??= modelAdmin(config, projectDir));
  const str = (body: Readonly<Record<string, unknown>>, field: string, fallback?: string): string => {
    const v = body[field] ?? fallback;
    if (typeof v !== 'string' || v === '')
      throw new AdminRefusal(400, `"${field}" must be a non-empty string`);
    return v;
  };
  const refusal = (err: unknown): never => {
    if (err instanceof StreamscoreError)
      throw new AdminRefusal(err.code === 'SS_CLI_USAGE' ? 400 : 409, `${err.code}: ${err.message}`);
    throw err;
  };
  const request = (body: Readonly<Record<string, unknown>>) => ({
    alias: str(body, 'alias', config.model.alias ?? 'champion'),
    by: str(body, 'by', 'admin-http'),
    reason: str(body, 'reason'),
  });
  return {
    list: () => get().list(),
    show: (version: string) => get().show(version).catch(refusal),
    promote: (body: Readonly<Record<string, unknown>>) =>
      get()
        .promote({ ...request(body), to: str(body, 'version'), force: body.force === true })
        .catch(refusal),
    rollback: (body: Readonly<Record<string, unknown>>) => get().rollback(request(body)).catch(refusal),
  };
}
