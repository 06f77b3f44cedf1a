import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, StreamscoreError } from '../errors/index.js';

/**
 * The project's declared Avro value schema for a topic (`<dir>/<topic>-value.avsc`), or undefined when the
 * project declares none. JSON decoders need it when producers run JsonConverter with schemas.enable=false:
 * decimals then arrive as base64 unscaled integers and only the declared schema knows their scale.
 */
export async function loadDeclaredValueSchema(topic: string, dir = 'schemas'): Promise<unknown> {
  const path = join(dir, `${topic}-value.avsc`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StreamscoreError('SS_SCHEMA_INVALID', `cannot read ${path}: ${describeError(err)}`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StreamscoreError('SS_SCHEMA_INVALID', `${path} is not JSON: ${describeError(cause)}`, {
      cause,
    });
  }
}
