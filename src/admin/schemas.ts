import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import avro from 'avsc';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import type { Compatibility, SchemaRegistryClient } from '../adapters/registry.js';

const compatibility = z.enum([
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
]);

const manifestSchema = z
  .object({
    subjects: z
      .array(
        z
          .object({
            file: z.string().min(1),
            subject: z.string().min(1),
            compatibility: compatibility.default('BACKWARD'),
            /** false for schemas that document a structure but are not a topic's value (e.g. the DLQ view). */
            register: z.boolean().default(true),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export interface SchemaEntry {
  readonly file: string;
  readonly subject: string;
  readonly compatibility: Compatibility;
  /** Canonical JSON text of the schema as registered. */
  readonly schema: string;
}

/**
 * Reads schemas/schemas.yaml and every schema it lists; each must parse as Avro. Subjects follow
 * TopicNameStrategy (`<topic>-value`), so `prefix` (a topic prefix) prefixes them too.
 */
export function loadSchemaManifest(manifestPath: string, prefix = ''): SchemaEntry[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(manifestPath, 'utf8'));
  } catch (cause) {
    throw new StreamscoreError(
      'SS_SCHEMA_INVALID',
      `cannot read ${manifestPath}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error.issues);
    throw new StreamscoreError(
      'SS_SCHEMA_INVALID',
      `${manifestPath} is invalid:\n  - ${lines.join('\n  - ')}`,
    );
  }
  const problems: string[] = [];
  const out: SchemaEntry[] = [];
  for (const s of parsed.data.subjects) {
    if (!s.register) continue;
    const path = join(dirname(manifestPath), s.file);
    try {
      const json = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      avro.Type.forSchema(json as avro.Schema);
      out.push({
        file: path,
        subject: prefix + s.subject,
        compatibility: s.compatibility,
        schema: JSON.stringify(json),
      });
    } catch (cause) {
      problems.push(`${path}: ${(cause as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new StreamscoreError('SS_SCHEMA_INVALID', `schemas are invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return out;
}

export interface CheckOutcome {
  readonly entry: SchemaEntry;
  readonly status: 'new-subject' | 'compatible' | 'incompatible';
  readonly messages: readonly string[];
}

export async function checkSchemas(
  registry: SchemaRegistryClient,
  entries: readonly SchemaEntry[],
): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (const entry of entries) {
    const r = await registry.checkCompatibility(entry.subject, entry.schema);
    out.push({
      entry,
      status: !r.subjectExists ? 'new-subject' : r.compatible ? 'compatible' : 'incompatible',
      messages: r.messages,
    });
  }
  return out;
}

export async function registerSchemas(
  registry: SchemaRegistryClient,
  entries: readonly SchemaEntry[],
): Promise<Array<{ entry: SchemaEntry; id: number }>> {
  const incompatible = (await checkSchemas(registry, entries)).filter((c) => c.status === 'incompatible');
  if (incompatible.length > 0) {
    throw new StreamscoreError(
      'SS_SCHEMA_INCOMPATIBLE',
      `refusing to register (nothing was registered):\n  ${incompatible
        .map(
          (c) =>
            `${c.entry.subject} (${c.entry.file}) is not ${c.entry.compatibility}-compatible: ${c.messages.join('; ')}`,
        )
        .join('\n  ')}`,
    );
  }
  const out: Array<{ entry: SchemaEntry; id: number }> = [];
  for (const entry of entries)
    out.push({ entry, id: await registry.register(entry.subject, entry.schema, entry.compatibility) });
  return out;
}
