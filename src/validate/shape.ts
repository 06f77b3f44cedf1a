/**
 * The value types a declared Avro schema promises, as the decode stage hands them on (after Debezium's
 * semantic types are converted: decimals → number, times → epoch millis, bytes → base64 text). Avro input
 * written with the declared schema always meets them; JSON input, and Avro written with some other schema,
 * may not, and the validate stage checks them.
 */
import { envelopeRowSchema, semanticKind } from '../decode/index.js';

export type ValueKind =
  | { readonly type: 'integer' }
  | { readonly type: 'number' }
  | { readonly type: 'boolean' }
  | { readonly type: 'string' }
  | { readonly type: 'enum'; readonly symbols: ReadonlySet<string> }
  /** Epoch millis after decoding (Debezium time types, Avro timestamp/date logical types). */
  | { readonly type: 'time' }
  /** Records, arrays, maps, unions of several types: not checked beyond presence. */
  | { readonly type: 'any' };

export interface DeclaredField {
  readonly name: string;
  readonly kind: ValueKind;
  /** The schema has no null branch for it. */
  readonly required: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function kindOf(s: unknown, named: Map<string, ValueKind>): ValueKind {
  if (typeof s === 'string') {
    switch (s) {
      case 'int':
      case 'long':
        return { type: 'integer' };
      case 'float':
      case 'double':
        return { type: 'number' };
      case 'boolean':
        return { type: 'boolean' };
      case 'string':
      case 'bytes':
        return { type: 'string' };
      default:
        return named.get(s) ?? named.get(s.split('.').pop() ?? s) ?? { type: 'any' };
    }
  }
  if (!isObject(s)) return { type: 'any' };
  const semantic = semanticKind(
    typeof s['connect.name'] === 'string' ? s['connect.name'] : undefined,
    typeof s.logicalType === 'string' ? s.logicalType : undefined,
  );
  let kind: ValueKind;
  if (semantic !== null) kind = { type: semantic };
  else if (s.type === 'enum' && Array.isArray(s.symbols))
    kind = { type: 'enum', symbols: new Set(s.symbols.map(String)) };
  else if (typeof s.type === 'string' && s.type !== 'record' && s.type !== 'array' && s.type !== 'map')
    kind = s.type === 'fixed' ? { type: 'string' } : kindOf(s.type, named);
  else kind = { type: 'any' };
  if (typeof s.name === 'string') {
    named.set(s.name, kind);
    if (typeof s.namespace === 'string') named.set(`${s.namespace}.${s.name}`, kind);
  }
  return kind;
}

function fieldOf(f: unknown, named: Map<string, ValueKind>): DeclaredField | null {
  if (!isObject(f) || typeof f.name !== 'string') return null;
  const branches = Array.isArray(f.type) ? f.type : [f.type];
  const nonNull = branches.filter((b) => b !== 'null' && !(isObject(b) && b.type === 'null'));
  const kinds = nonNull.map((b) => kindOf(b, named));
  return {
    name: f.name,
    kind: kinds.length === 1 ? (kinds[0] as ValueKind) : { type: 'any' },
    required: nonNull.length === branches.length,
  };
}

/** The top-level fields of a record schema (an event's value), or none when it is not one. */
export function recordFields(schema: unknown): DeclaredField[] {
  if (!isObject(schema) || !Array.isArray(schema.fields)) return [];
  const named = new Map<string, ValueKind>();
  return schema.fields.flatMap((f) => fieldOf(f, named) ?? []);
}

/** The row columns of a Debezium envelope schema (or of a bare row schema, for unwrapped topics). */
export function rowFields(schema: unknown): DeclaredField[] {
  return recordFields(envelopeRowSchema(schema) ?? schema);
}
