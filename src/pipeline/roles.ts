import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { SchemaRegistryClient } from '../adapters/registry.js';
import type { Config } from '../config/index.js';
import { createDecoder } from '../decode/index.js';
import type { RawRecord } from '../decode/types.js';
import { RecordRejected, StreamscoreError } from '../errors/index.js';
import { compileCheck, loadContract, recordFields, rowFields, validate } from '../validate/index.js';
import type { DecodedRecord } from '../window/index.js';
import type { InputRole } from './types.js';

function declaredSchema(projectDir: string, topic: string, file: string | undefined): unknown {
  const path =
    file === undefined
      ? join(projectDir, 'schemas', `${topic}-value.avsc`)
      : isAbsolute(file)
        ? file
        : join(projectDir, file);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (cause) {
    if (file === undefined && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StreamscoreError(
      'SS_SCHEMA_INVALID',
      `cannot read the declared schema ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/**
 * One decoder per input topic, with what the rest of the window needs to know about the topic.
 * `profileFields`: the row columns the feature spec reads; CDC rows (and so the stored profile) keep only
 * those and the id. A spec that reads a new column therefore sees it once its row changes or is re-snapshotted.
 */
export function buildRoles(
  config: Readonly<Config>,
  registry: SchemaRegistryClient,
  projectDir: string,
  profileFields?: readonly string[],
): Map<string, InputRole> {
  const roles = new Map<string, InputRole>();
  for (const input of config.inputs.cdc) {
    const declared = declaredSchema(projectDir, input.topic, input.schemaFile);
    const contract = loadContract(projectDir, input.topic, input);
    // the decoder materialises what the features read and what the contract has rules for
    const columns =
      profileFields === undefined
        ? undefined
        : [...new Set([...profileFields, ...Object.keys(contract.fields)])];
    roles.set(input.topic, {
      kind: 'cdc',
      onTruncate: input.onTruncate,
      decoder: createDecoder({
        kind: 'cdc',
        options: input,
        writerSchemas: registry,
        ...(declared === undefined ? {} : { declaredValueSchema: declared }),
        ...(columns === undefined ? {} : { rowFields: columns }),
      }),
      check: compileCheck({
        kind: 'cdc',
        contract,
        declared: declared === undefined ? [] : rowFields(declared),
        rowColumns: columns === undefined ? null : new Set([...columns, input.idField]),
      }),
    });
  }
  for (const input of config.inputs.events) {
    const declared = declaredSchema(projectDir, input.topic, input.schemaFile);
    const contract = loadContract(projectDir, input.topic, input);
    roles.set(input.topic, {
      kind: 'events',
      onTruncate: 'dlq',
      decoder: createDecoder({
        kind: 'events',
        options: input,
        writerSchemas: registry,
        ...(declared === undefined ? {} : { declaredValueSchema: declared }),
      }),
      check: compileCheck({
        kind: 'events',
        contract,
        declared: declared === undefined ? [] : recordFields(declared),
        timeField: input.timeField,
      }),
    });
  }
  return roles;
}

/**
 * The decode → validate step every reader of the input shares (a window, the rebuild, `verify --deep`):
 * records the contract skips are counted, a rejected one goes to `onRejected` (a window dead-letters it;
 * a reader of history ignores it: it went to the DLQ when the pipeline first read it).
 */
export async function decodeValid(
  role: InputRole,
  records: readonly RawRecord[],
  nowMs: number,
  onRejected: (raw: RawRecord, err: RecordRejected) => void,
): Promise<{ records: DecodedRecord[]; decoded: number; skipped: number }> {
  await role.decoder.prepare(records);
  const out: DecodedRecord[] = [];
  let decoded = 0;
  let skipped = 0;
  for (const raw of records) {
    try {
      const d = role.decoder.decodeSync(raw);
      const verdict = validate(d, raw, role, nowMs);
      decoded += 1;
      if (verdict === 'skip') {
        skipped += 1;
        continue;
      }
      out.push({ ref: { topic: raw.topic, partition: raw.partition, offset: raw.offset }, decoded: d });
    } catch (err) {
      if (!(err instanceof RecordRejected)) throw err;
      onRejected(raw, err);
    }
  }
  return { records: out, decoded, skipped };
}
