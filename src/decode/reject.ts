import { RecordRejected } from '../errors/index.js';
import type { DlqReason } from '../errors/index.js';
import type { RawRecord } from './types.js';

/** A rejection that names the record it is about, so the DLQ entry and the log line point at it. */
export function rejected(
  code: DlqReason,
  message: string,
  raw: RawRecord,
  extra: { cause?: unknown; details?: Readonly<Record<string, unknown>> } = {},
): RecordRejected {
  return new RecordRejected(code, `${raw.topic}/${raw.partition}@${raw.offset}: ${message}`, {
    position: { topic: raw.topic, partition: raw.partition, offset: raw.offset },
    ...extra,
  });
}

/**
 * A value did not fit its schema's semantic type (a bad ISO timestamp, a decimal without a scale…). Thrown by
 * converters, which know the field path but not the record; the decoder turns it into SS_FIELD_TYPE.
 */
export class ConversionError extends Error {
  readonly path: string[];
  constructor(message: string, path: string[] = []) {
    super(message);
    this.name = 'ConversionError';
    this.path = path;
  }
}

/** Adds the enclosing field to a conversion error's path on its way up. */
export function atField(err: unknown, field: string): unknown {
  if (err instanceof ConversionError) err.path.unshift(field);
  return err;
}

export function describePath(err: ConversionError): string {
  return err.path.length > 0 ? `${err.path.join('.')}: ${err.message}` : err.message;
}
