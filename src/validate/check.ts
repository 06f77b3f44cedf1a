/**
 * One input's contract compiled into a check of decoded records: the declared schema's types and required
 * fields, the contract's rules, the entity id and the event time. A breach throws RecordRejected with one
 * of the record-level codes of docs/errors.md, naming the field and the value.
 */
import type { Decoded, RawRecord, Row } from '../decode/types.js';
import { isUnavailable, rejected } from '../decode/index.js';
import type { Contract, FieldRule } from './contract.js';
import type { DeclaredField, ValueKind } from './shape.js';
import { referenceMs, timeProblem, type Problem, type TimeRule } from './time.js';

export interface CheckSpec {
  readonly kind: 'cdc' | 'events';
  readonly contract: Contract;
  /** The declared value schema's fields (an event's fields, or a change's row columns); [] without a schema. */
  readonly declared: readonly DeclaredField[];
  /** Events: the field holding the event time (judged by the time rule, not as a plain field). */
  readonly timeField?: string;
  /** CDC: the row columns the decoder materialises (null: all); the others are not there to check. */
  readonly rowColumns?: ReadonlySet<string> | null;
}

/** Throws RecordRejected when `d` breaks the contract. `nowMs` bounds a record timestamp from the future. */
export type RecordCheck = (d: Decoded, raw: RawRecord, nowMs: number) => void;

interface FieldCheck {
  readonly name: string;
  readonly kind: ValueKind;
  readonly required: boolean;
  readonly rule: FieldRule | undefined;
  readonly pattern: RegExp | null;
  readonly maxLength: number;
  readonly time: TimeRule | null;
}

const SHORT = 80;

function show(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > SHORT ? `${v.slice(0, SHORT)}…` : v);
  else if (typeof v === 'number') s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > SHORT + 10 ? `${s.slice(0, SHORT)}…` : s;
}

const INTEGER_TEXT = /^-?\d+$/;

function typeProblem(f: FieldCheck, v: unknown): string | null {
  switch (f.kind.type) {
    case 'integer':
      // a long beyond 2^53 arrives as its exact decimal text; a small integer as text is a JSON type error
      if (
        typeof v === 'number'
          ? Number.isInteger(v)
          : typeof v === 'string' && INTEGER_TEXT.test(v) && !Number.isSafeInteger(Number(v))
      )
        return null;
      return 'an integer';
    case 'number':
    case 'time':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'a finite number';
    case 'boolean':
      return typeof v === 'boolean' ? null : 'a boolean';
    case 'string':
      return typeof v === 'string' ? null : 'a string';
    case 'enum':
      if (typeof v !== 'string') return 'a string';
      return f.kind.symbols.has(v) ? null : `one of ${[...f.kind.symbols].join(', ')}`;
    case 'any':
      return null;
  }
}

function ruleProblem(f: FieldCheck, v: unknown, refMs: number): Problem | null {
  const r = f.rule;
  if (typeof v === 'string') {
    if (v.length > f.maxLength)
      return {
        code: 'SS_FIELD_RANGE',
        message: `"${f.name}" is ${v.length} characters long; at most ${f.maxLength}`,
      };
    if (r?.minLength !== undefined && v.length < r.minLength)
      return { code: 'SS_FIELD_RANGE', message: `"${f.name}" is shorter than ${r.minLength} characters` };
    if (f.pattern !== null && !f.pattern.test(v))
      return {
        code: 'SS_FIELD_RANGE',
        message: `"${f.name}" ${show(v)} does not match ${String(f.pattern)}`,
      };
  }
  if (r === undefined) return null;
  if (r.enum !== undefined && !r.enum.includes(v as string | number))
    return { code: 'SS_FIELD_RANGE', message: `"${f.name}" is ${show(v)}, not one of ${r.enum.join(', ')}` };
  if (r.min !== undefined || r.max !== undefined) {
    const n = typeof v === 'number' ? v : typeof v === 'string' && INTEGER_TEXT.test(v) ? Number(v) : NaN;
    if (Number.isNaN(n))
      return { code: 'SS_FIELD_TYPE', message: `"${f.name}" is ${show(v)}; its range rule needs a number` };
    if (r.min !== undefined && n < r.min)
      return { code: 'SS_FIELD_RANGE', message: `"${f.name}" is ${show(v)}, below its minimum ${r.min}` };
    if (r.max !== undefined && n > r.max)
      return { code: 'SS_FIELD_RANGE', message: `"${f.name}" is ${show(v)}, above its maximum ${r.max}` };
  }
  if (f.time !== null && typeof v === 'number') return timeProblem(v, refMs, f.time, `"${f.name}"`);
  return null;
}

function compileFields(spec: CheckSpec): FieldCheck[] {
  const { contract } = spec;
  const out: FieldCheck[] = [];
  const seen = new Set<string>();
  const add = (name: string, kind: ValueKind, required: boolean) => {
    seen.add(name);
    const rule = contract.fields[name];
    const time =
      rule?.notBefore !== undefined || rule?.maxFutureSkewMs !== undefined
        ? {
            notBefore: rule.notBefore ?? Number.MIN_SAFE_INTEGER,
            maxFutureSkewMs: rule.maxFutureSkewMs ?? Number.MAX_SAFE_INTEGER / 2,
          }
        : null;
    out.push({
      name,
      kind,
      required: rule?.required ?? required,
      rule,
      pattern: rule?.pattern === undefined ? null : new RegExp(rule.pattern, 'u'),
      maxLength: rule?.maxLength ?? contract.maxStringLength,
      time,
    });
  };
  for (const f of spec.declared) {
    if (f.name === spec.timeField) continue;
    if (spec.rowColumns != null && !spec.rowColumns.has(f.name) && contract.fields[f.name] === undefined)
      continue;
    add(f.name, f.kind, f.required);
  }
  for (const name of Object.keys(contract.fields)) {
    if (!seen.has(name) && name !== spec.timeField) add(name, { type: 'any' }, false);
  }
  return out;
}

/** U+FFFD: what invalid UTF-8 in a key decodes to; a real id never holds it. */
const REPLACEMENT = '\uFFFD';
/** A UTF-16 surrogate without its pair (paired ones are one code point to a `u` regex). */
const LONE_SURROGATE = /\p{Cs}/u;

export function compileCheck(spec: CheckSpec): RecordCheck {
  const fields = compileFields(spec);
  const { contract } = spec;
  const idPattern =
    contract.entityId.pattern === undefined ? null : new RegExp(contract.entityId.pattern, 'u');
  const timeWhat = spec.kind === 'events' ? `"${spec.timeField ?? 'event time'}"` : 'source.ts_ms';

  const checkRow = (row: Row, raw: RawRecord, refMs: number) => {
    for (const f of fields) {
      const v = row[f.name];
      if (v === undefined || v === null) {
        if (f.required)
          throw rejected(
            'SS_FIELD_MISSING',
            `required field "${f.name}" is ${v === null ? 'null' : 'missing'}`,
            raw,
          );
        continue;
      }
      // a TOASTed column an UPDATE left unchanged: no value to judge; the stored one stands (sink/state)
      if (spec.kind === 'cdc' && isUnavailable(v)) continue;
      const expected = typeProblem(f, v);
      if (expected !== null)
        throw rejected('SS_FIELD_TYPE', `"${f.name}" is ${show(v)} (${typeof v}); expected ${expected}`, raw);
      const p = ruleProblem(f, v, refMs);
      if (p !== null) throw rejected(p.code, p.message, raw);
    }
  };

  return (d, raw, nowMs) => {
    const id = d.entityId;
    if (id !== null) {
      if (id.length > contract.entityId.maxLength)
        throw rejected(
          'SS_ENTITY_ID_INVALID',
          `entity id is ${id.length} characters long; at most ${contract.entityId.maxLength}`,
          raw,
        );
      // U+FFFD: a key of invalid UTF-8; a lone surrogate: an escape in a JSON value (`"\ud800"`), which
      // no UTF-8 can carry (the prediction's key and its Avro event would each print it differently)
      if (id.includes(REPLACEMENT) || LONE_SURROGATE.test(id))
        throw rejected('SS_ENTITY_ID_INVALID', `entity id ${show(id)} is not valid UTF-8`, raw);
      if (idPattern !== null && !idPattern.test(id))
        throw rejected(
          'SS_ENTITY_ID_INVALID',
          `entity id ${show(id)} does not match ${String(idPattern)}`,
          raw,
        );
    }
    if (d.kind === 'tombstone') return;
    const refMs = referenceMs(raw.timestamp, nowMs);
    const timeMs = d.kind === 'event' ? d.eventTimeMs : d.op === 't' || d.op === 'm' ? null : d.sourceTsMs;
    if (timeMs !== null) {
      const p = timeProblem(timeMs, refMs, contract.time, timeWhat);
      if (p !== null) throw rejected(p.code, p.message, raw);
    }
    if (d.kind === 'event') checkRow(d.fields, raw, refMs);
    else if (d.after !== null && d.op !== 'd') checkRow(d.after, raw, refMs);
  };
}
