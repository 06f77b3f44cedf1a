import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { loadTopicSpecs } from './topic-spec.js';
import type { TopicFamily, TopicSpec } from './topic-spec.js';

/**
 * An environment overlay (`topics/env/<name>.yaml`): the topic files describe the topics once, with the
 * local single-broker numbers; an overlay changes partitions, replication factor and configs for one
 * environment, from the least to the most specific: `defaults` (every topic), `families.<family>`, then
 * `topics.<name>` (the name as written in the topic file, before any --prefix). Configs merge key by key;
 * a config set to null is removed. `require` states what the environment's durability demands; the safety
 * check (topic-safety.ts) refuses specs below it.
 */
const patchSchema = z
  .object({
    partitions: z.number().int().min(1).optional(),
    replicationFactor: z.number().int().min(1).optional(),
    config: z.record(z.string(), z.string().nullable()).optional(),
  })
  .strict();

const overlaySchema = z
  .object({
    environment: z.string().min(1),
    defaults: patchSchema.optional(),
    families: z.record(z.string(), patchSchema).optional(),
    topics: z.record(z.string(), patchSchema).optional(),
    require: z
      .object({
        /** Every topic needs at least this many replicas (production: 3). */
        minReplicationFactor: z.number().int().min(1).default(1),
        /** The cluster needs at least this many brokers (checked when a cluster is at hand). */
        minBrokers: z.number().int().min(1).default(1),
      })
      .strict()
      .default({ minReplicationFactor: 1, minBrokers: 1 }),
  })
  .strict();

export type TopicPatch = z.output<typeof patchSchema>;
export type TopicOverlay = z.output<typeof overlaySchema>;
export type DurabilityRequirement = TopicOverlay['require'];

/** What an environment without an overlay requires: nothing beyond what Kafka itself enforces. */
export const NO_REQUIREMENT: DurabilityRequirement = { minReplicationFactor: 1, minBrokers: 1 };

/** Reads and validates `<dir>/env/<env>.yaml`; the error names the file, the field and the fix. */
export function loadOverlay(dir: string, env: string): TopicOverlay {
  if (!/^[a-zA-Z0-9._-]+$/.test(env))
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `--env ${env}: an environment name uses only letters, digits, ".", "_" and "-" (it names ${dir}/env/<env>.yaml)`,
    );
  const path = join(dir, 'env', `${env}.yaml`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      code === 'ENOENT'
        ? `--env ${env}: no overlay ${path}; create it (see topics/env/production.yaml) or pick another environment`
        : `${path}: ${code ?? (cause as Error).message}`,
      { cause },
    );
  }
  const parsed = overlaySchema.safeParse(raw);
  if (!parsed.success)
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `${path} is invalid:\n  - ${formatIssues(parsed.error.issues).join('\n  - ')}`,
    );
  if (parsed.data.environment !== env)
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `${path}: environment is "${parsed.data.environment}" but the file is named for "${env}"; make them agree`,
    );
  return parsed.data;
}

function patch(spec: TopicSpec, p: TopicPatch | undefined): TopicSpec {
  if (p === undefined) return spec;
  const config: Record<string, string> = { ...spec.config };
  for (const [k, v] of Object.entries(p.config ?? {})) {
    if (v === null) delete config[k];
    else config[k] = v;
  }
  return {
    name: spec.name,
    partitions: p.partitions ?? spec.partitions,
    replicationFactor: p.replicationFactor ?? spec.replicationFactor,
    config,
  };
}

/**
 * Pure: the families with the overlay applied. `prefix` is the one loadTopicSpecs added, so overlay topic
 * keys match the names as the topic files write them. A family or topic the overlay names that does not
 * exist is an error (a typo would otherwise leave production on the local numbers).
 */
export function applyOverlay(
  families: readonly TopicFamily[],
  overlay: TopicOverlay,
  prefix = '',
): TopicFamily[] {
  const familyNames = new Set(families.map((f) => f.family));
  const topicNames = new Set(families.flatMap((f) => f.topics.map((t) => t.name.slice(prefix.length))));
  const unknown = [
    ...Object.keys(overlay.families ?? {})
      .filter((f) => !familyNames.has(f))
      .map(
        (f) => `families.${f}: no topic file declares family "${f}" (known: ${[...familyNames].join(', ')})`,
      ),
    ...Object.keys(overlay.topics ?? {})
      .filter((t) => !topicNames.has(t))
      .map((t) => `topics.${t}: no topic file declares topic "${t}"`),
  ];
  if (unknown.length > 0)
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `overlay for ${overlay.environment}:\n  - ${unknown.join('\n  - ')}`,
    );
  return families.map((f) => ({
    ...f,
    topics: f.topics.map((t) =>
      patch(
        patch(patch(t, overlay.defaults), overlay.families?.[f.family]),
        overlay.topics?.[t.name.slice(prefix.length)],
      ),
    ),
  }));
}

/**
 * The topic specs of `dir` (names prefixed), with the overlay of environment `env` applied when one is
 * named, and what that environment requires (nothing without one): what `topics plan|apply` and the test
 * environments act on.
 */
export function loadEnvironmentSpecs(
  dir: string,
  prefix: string,
  env: string | undefined,
): { specs: TopicSpec[]; require: DurabilityRequirement } {
  const families = loadTopicSpecs(dir, prefix);
  if (env === undefined) return { specs: families.flatMap((f) => f.topics), require: NO_REQUIREMENT };
  const overlay = loadOverlay(dir, env);
  return {
    specs: applyOverlay(families, overlay, prefix).flatMap((f) => f.topics),
    require: overlay.require,
  };
}
