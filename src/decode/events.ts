/**
 * Business events (e.g. card transactions; already converted to plain values) → EntityEvent.
 */
import { idString, isRow } from './debezium.js';
import type { EventDecodeOptions } from './options.js';
import { rejected } from './reject.js';
import type { EntityEvent, RawRecord } from './types.js';

/**
 * Epoch millis from a number, an integer string, or an ISO-8601 timestamp; null when it is none of these.
 * Times are whole milliseconds: a fraction of one (`1764900000123.5`, as `time.time() * 1000` gives) is
 * dropped, as Date.parse does, so the entity's clock and the prediction's as_of are integers.
 */
export function eventTimeOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v) : null;
  if (typeof v !== 'string') return null;
  // an integer string too long for a finite number (over 308 digits) is not a time: Infinity would
  // become the entity's clock and be printed as invalid JSON in its stored state
  if (/^-?\d+$/.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

export function eventFromValue(
  value: unknown,
  keyId: string | null,
  opts: EventDecodeOptions,
  raw: RawRecord,
): EntityEvent {
  if (!isRow(value)) {
    throw rejected(
      'SS_DECODE_FAILED',
      `value is ${value === null ? 'null' : typeof value}, not an event object`,
      raw,
    );
  }
  const entityId = keyId ?? idString(value[opts.idField]);
  if (entityId === null) {
    throw rejected(
      'SS_MISSING_ENTITY_ID',
      `no entity id: the key is empty and the event has no "${opts.idField}"`,
      raw,
    );
  }
  const time = value[opts.timeField];
  const eventTimeMs = eventTimeOf(time);
  if (eventTimeMs === null) {
    throw rejected(
      time === undefined || time === null ? 'SS_FIELD_MISSING' : 'SS_FIELD_TYPE',
      time === undefined || time === null
        ? `event has no "${opts.timeField}"`
        : `"${opts.timeField}" is ${JSON.stringify(time)}, not epoch millis or an ISO-8601 timestamp`,
      raw,
    );
  }
  return {
    kind: 'event',
    entityId,
    eventId: idString(value[opts.eventIdField]) ?? `${raw.topic}/${raw.partition}/${raw.offset}`,
    eventTimeMs,
    fields: value,
  };
}
