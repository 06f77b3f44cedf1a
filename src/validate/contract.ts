/**
 * Input contracts: what a record of one input topic must satisfy before it may touch state, beyond decoding.
 * A contract is declared next to the topic's schema (`schemas/<topic>-contract.yaml`); the field types and
 * which fields are required come from the declared Avro schema itself, the contract adds what a schema
 * cannot say (ranges, enums, lengths, patterns, sane times). Without a contract file the defaults below
 * still apply.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { deepFreeze, formatIssues, invalidMessage } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';

const DAY_MS = 86_400_000;

const isoInstant = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 date or timestamp, e.g. 2000-01-01')
  .transform((s) => Date.parse(s));

const regex = z.string().refine((s) => {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const fieldRuleSchema = z
  .object({
    /** Overrides what the declared schema says (a nullable column the model cannot do without). */
    required: z.boolean().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(0).optional(),
    pattern: regex.optional(),
    /** For time fields (epoch millis after decoding): the earliest plausible value … */
    notBefore: isoInstant.optional(),
    /** … and how far past the record's Kafka timestamp it may lie. */
    maxFutureSkewMs: z.number().int().min(0).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.min !== undefined && r.max !== undefined && r.min > r.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'must be at most max' });
    if (r.minLength !== undefined && r.maxLength !== undefined && r.minLength > r.maxLength)
      ctx.addIssue({ code: 'custom', path: ['minLength'], message: 'must be at most maxLength' });
  });

export const contractSchema = z
  .object({
    /** The input topic the contract is written for (informational: the file's place ties it to its topic). */
    topic: z.string().min(1).optional(),
    entityId: z
      .object({
        maxLength: z.number().int().positive().default(128),
        pattern: regex.optional(),
      })
      .strict()
      .prefault({}),
    /**
     * The record's event time: the event's time field, or a change's `source.ts_ms`. Rejected before it can
     * move an entity's clock: earlier than notBefore, or later than the record's Kafka timestamp (when it
     * was produced) plus maxFutureSkewMs. Judging against the record's own timestamp, not the wall clock,
     * keeps a replay deciding what the first run decided.
     */
    time: z
      .object({
        notBefore: isoInstant.prefault('2000-01-01T00:00:00Z'),
        maxFutureSkewMs: z
          .number()
          .int()
          .min(0)
          .default(5 * 60_000),
      })
      .strict()
      .prefault({}),
    /** Any string field longer than this is refused (a field rule's maxLength overrides it). */
    maxStringLength: z.number().int().positive().default(1024),
    fields: z.record(z.string().min(1), fieldRuleSchema).default({}),
  })
  .strict();

export type FieldRule = z.output<typeof fieldRuleSchema>;
export type Contract = z.output<typeof contractSchema>;

/** The contract of a topic without a contract file: types from the schema, the default time and id rules. */
export function defaultContract(topic: string): Contract {
  return parseContract({ topic }, topic, '(defaults)');
}

export function parseContract(raw: unknown, topic: string, source: string): Contract {
  const result = contractSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = formatIssues(result.error.issues);
    throw new StreamscoreError(
      'SS_CONTRACT_INVALID',
      invalidMessage(`input contract ${source} (topic ${topic})`, problems),
      {
        details: { problems },
      },
    );
  }
  return deepFreeze(result.data);
}

/**
 * Where a topic's contract is declared: the input's `contractFile`; else next to its declared schema
 * (`x-value.avsc` → `x-contract.yaml`); else `schemas/<topic>-contract.yaml`.
 */
export function contractPath(
  projectDir: string,
  topic: string,
  contractFile: string | undefined,
  schemaFile: string | undefined,
): { path: string; explicit: boolean } {
  const rel =
    contractFile ??
    (schemaFile !== undefined && schemaFile.endsWith('-value.avsc')
      ? `${schemaFile.slice(0, -'-value.avsc'.length)}-contract.yaml`
      : join('schemas', `${topic}-contract.yaml`));
  return { path: isAbsolute(rel) ? rel : join(projectDir, rel), explicit: contractFile !== undefined };
}

/**
 * Reads the topic's contract (see contractPath); the defaults when there is none and none was named. A
 * file that is named but missing, or invalid, fails the start (SS_CONTRACT_INVALID), naming the field.
 */
export function loadContract(
  projectDir: string,
  topic: string,
  files: { readonly contractFile?: string | undefined; readonly schemaFile?: string | undefined },
): Contract {
  const { path, explicit } = contractPath(projectDir, topic, files.contractFile, files.schemaFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (!explicit && (cause as NodeJS.ErrnoException).code === 'ENOENT') return defaultContract(topic);
    throw new StreamscoreError(
      'SS_CONTRACT_INVALID',
      `cannot read the input contract ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new StreamscoreError(
      'SS_CONTRACT_INVALID',
      `${path} is not valid YAML: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  return parseContract(raw, topic, path);
}

/** A day in millis, for messages that speak of skews in readable units. */
export function describeMs(ms: number): string {
  if (ms >= DAY_MS && ms % DAY_MS === 0) return `${ms / DAY_MS} d`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
