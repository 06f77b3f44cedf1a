import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';

const topicSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name uses only letters, digits, ".", "_" and "-"'),
    partitions: z.number().int().min(1),
    replicationFactor: z.number().int().min(1),
    config: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const familySchema = z
  .object({ family: z.string().min(1), topics: z.array(topicSpecSchema).min(1) })
  .strict();

export type TopicSpec = z.output<typeof topicSpecSchema>;
export interface TopicFamily {
  readonly family: string;
  readonly file: string;
  readonly topics: readonly TopicSpec[];
}

/**
 * Reads every *.yaml file of `dir` (one file per topic family). `prefix` renames every topic, so tests and
 * environments can apply the same specs side by side (`test-1234.predictions`).
 */
export function loadTopicSpecs(dir: string, prefix = ''): TopicFamily[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  } catch (cause) {
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `cannot read topic specs folder ${dir}: ${String(cause)}`,
      {
        cause,
      },
    );
  }
  const problems: string[] = [];
  const families: TopicFamily[] = [];
  const seen = new Map<string, string>();
  for (const f of files.sort()) {
    const path = join(dir, f);
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (cause) {
      problems.push(`${path}: not valid YAML (${(cause as Error).message})`);
      continue;
    }
    const parsed = familySchema.safeParse(raw);
    if (!parsed.success) {
      for (const line of formatIssues(parsed.error.issues)) problems.push(`${path}: ${line}`);
      continue;
    }
    const topics = parsed.data.topics.map((t) => ({ ...t, name: prefix + t.name }));
    for (const t of topics) {
      const other = seen.get(t.name);
      if (other !== undefined) problems.push(`${path}: topic ${t.name} is also declared in ${other}`);
      seen.set(t.name, path);
    }
    families.push({ family: parsed.data.family, file: path, topics });
  }
  if (problems.length > 0) {
    throw new StreamscoreError(
      'SS_TOPIC_SPEC_INVALID',
      `topic specs are invalid:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return families;
}
