/**
 * A writer schema compiled into a reader that walks the Avro binary itself and converts as it goes, instead
 * of avsc materialising every field and a converter copying the result. Two reasons (perf profile lever 5):
 * - A projection: only the fields the pipeline reads are materialised; every other byte is still walked and
 *   checked (lengths, bounds, union and enum indexes, and semantic values that could fail to convert), so a
 *   record is accepted or rejected exactly as by the full decode.
 * - int64 without a Buffer per value (avsc's custom long hands each one over as a slice).
 * Values are those of avsc (wrapUnions 'auto', SAFE_LONG) passed through compileAvroConverter; the parity
 * tests hold the two paths to that. Schemas with shapes this reader does not materialise (unions of several
 * non-null types, recursive types, records inside arrays or maps) throw Unsupported when compiled, and the
 * caller keeps avsc for them.
 */
import {
  avroLeafConverter,
  isObject,
  namespaceOf,
  qualify,
  readVarLongAt,
  scaleOf,
  type Json,
} from './avro-schema.js';
import { DECIMAL, VARIABLE_SCALE_DECIMAL, variableScaleDecimal, type Convert } from './connect-types.js';
import { arrayConverter, mapConverter } from './convert.js';
import { ConversionError } from './reject.js';
import type { Row } from './types.js';

/** Which fields of a record to materialise (recursively); `true` is all of them. */
export type Projection = true | ReadonlyMap<string, Projection>;

export class Cursor {
  pos: number;
  /**
   * The first value that did not fit its semantic type. The walk goes on, so a structural problem later in
   * the datum still wins (SS_DECODE_FAILED), as it does when the whole datum is decoded before converting.
   */
  conversionError: ConversionError | null = null;
  constructor(
    readonly buf: Buffer,
    pos: number,
  ) {
    this.pos = pos;
  }
}

/** The datum ends before the schema does (or declares a negative length, which avsc reports the same way). */
export class Truncated extends Error {}
/** Bytes that no value of the schema encodes to (a bad union or enum index). */
export class Malformed extends Error {}
/** A schema shape this reader does not materialise; the caller decodes that schema with avsc instead. */
export class Unsupported extends Error {}

// ---- primitives, with avsc's semantics (Tap in avsc/lib/utils.js) ------------------------------------------

/** avsc's readInt/readLong: used for ints, lengths, counts and indexes. */
function readVarint(c: Cursor): number {
  const buf = c.buf;
  const len = buf.length;
  let pos = c.pos;
  let n = 0;
  let k = 0;
  let b: number;
  let h: number;
  do {
    if (pos >= len) throw new Truncated();
    b = buf[pos++]!;
    h = b & 0x80;
    n |= (b & 0x7f) << k;
    k += 7;
  } while (h && k < 28);
  if (h) {
    // Beyond 28 bits avsc switches to float arithmetic; so do we, to read the same (garbage) numbers.
    let f = n;
    let fk = 268435456;
    do {
      if (pos >= len) throw new Truncated();
      b = buf[pos++]!;
      f += (b & 0x7f) * fk;
      fk *= 128;
    } while (b & 0x80);
    c.pos = pos;
    return (f % 2 ? -(f + 1) : f) / 2;
  }
  c.pos = pos;
  return (n >> 1) ^ -(n & 1);
}

function varintEnd(c: Cursor): number {
  const buf = c.buf;
  let pos = c.pos;
  while (pos < buf.length && buf[pos]! & 0x80) pos++;
  if (pos >= buf.length) throw new Truncated();
  return pos + 1;
}

const readLong = (c: Cursor): number | string => {
  const start = c.pos;
  c.pos = varintEnd(c);
  return readVarLongAt(c.buf, start, c.pos);
};
const skipVarint = (c: Cursor): void => {
  c.pos = varintEnd(c);
};

function advance(c: Cursor, n: number): number {
  const start = c.pos;
  if (n < 0 || start + n > c.buf.length) throw new Truncated();
  c.pos = start + n;
  return start;
}

function sized(c: Cursor): number {
  return advance(c, readVarint(c));
}

const readBytes = (c: Cursor): Buffer => c.buf.subarray(sized(c), c.pos);
/** Buffer's own UTF-8 decoder (what toString calls after checking its arguments; avsc calls it too). */
type Utf8Slice = { utf8Slice(start: number, end: number): string };
const readString = (c: Cursor): string => {
  const start = sized(c);
  return (c.buf as unknown as Utf8Slice).utf8Slice(start, c.pos);
};
const skipSized = (c: Cursor): void => {
  sized(c);
};

type Read = (c: Cursor) => unknown;
type Skip = (c: Cursor) => void;

const PRIMITIVE: Readonly<Record<string, { read: Read; skip: Skip }>> = {
  null: { read: () => null, skip: () => undefined },
  boolean: { read: (c) => c.buf[advance(c, 1)] !== 0, skip: (c) => void advance(c, 1) },
  int: { read: readVarint, skip: skipVarint },
  long: { read: readLong, skip: skipVarint },
  float: { read: (c) => c.buf.readFloatLE(advance(c, 4)), skip: (c) => void advance(c, 4) },
  double: { read: (c) => c.buf.readDoubleLE(advance(c, 8)), skip: (c) => void advance(c, 8) },
  bytes: { read: readBytes, skip: skipSized },
  string: { read: readString, skip: skipSized },
};

// ---- compiled nodes ---------------------------------------------------------------------------------------

/**
 * `read` yields the converted value; `skip` only checks. A leaf also exposes its raw value and converter,
 * which containers (arrays, maps, VariableScaleDecimal) need to convert the way compileAvroConverter does.
 */
interface Node {
  readonly read: Read | undefined;
  readonly skip: Skip;
  /** Whether `skip` converts something (a value that could fail to convert). */
  readonly checks: boolean;
  readonly leaf?: { readonly raw: Read; readonly convert: Convert | null };
}

function deferFailure(c: Cursor, err: unknown, path: readonly string[]): null {
  if (!(err instanceof ConversionError)) throw err;
  if (c.conversionError === null) {
    err.path.unshift(...path);
    c.conversionError = err;
  }
  return null;
}

function leafNode(raw: Read, skip: Skip, convert: Convert | null, fallible: boolean, path: string[]): Node {
  const leaf = { raw, convert };
  if (convert === null) return { read: raw, skip, checks: false, leaf };
  const read: Read = (c) => {
    const v = raw(c);
    if (v === null) return null;
    try {
      return convert(v);
    } catch (err) {
      return deferFailure(c, err, path);
    }
  };
  // A value that could fail to convert is converted even when skipped: the full decode would reject it.
  return { read, skip: fallible ? (c) => void read(c) : skip, checks: fallible, leaf };
}

function count(c: Cursor): number {
  let n = readVarint(c);
  if (n < 0) {
    n = -n;
    skipVarint(c); // the block's size in bytes
  }
  return n;
}

function blocks(itemRaw: Read, itemSkip: Skip, keyed: boolean): { raw: Read; skip: Skip } {
  const raw: Read = keyed
    ? (c) => {
        const out: Row = {};
        for (let n = count(c); n !== 0; n = count(c)) {
          while (n--) out[readString(c)] = itemRaw(c);
        }
        return out;
      }
    : (c) => {
        const out: unknown[] = [];
        for (let n = count(c); n !== 0; n = count(c)) while (n--) out.push(itemRaw(c));
        return out;
      };
  const skip: Skip = (c) => {
    for (let n = count(c); n !== 0; n = count(c)) {
      while (n--) {
        if (keyed) skipSized(c);
        itemSkip(c);
      }
    }
  };
  return { raw, skip };
}

/**
 * Steps run in order; those with a name become the fields of the returned object (none: returns nothing).
 * Generated code, as avsc does for its records: each step gets its own call site and the object literal one
 * shape, which a loop over an array of closures gives neither (about 2× slower on the CDC envelope).
 */
function sequence(steps: readonly { step: Read | Skip; name: string | null }[]): Read {
  const args = steps.map((_, i) => `s${i}`);
  const body = steps.map((s, i) => (s.name === null ? `s${i}(c);` : `const v${i} = s${i}(c);`));
  const named = steps.flatMap((s, i) => (s.name === null ? [] : [`${JSON.stringify(s.name)}: v${i}`]));
  const result = named.length === 0 ? '' : `return { ${named.join(', ')} };`;
  const make = new Function(...args, `return function (c) { ${body.join(' ')} ${result} };`) as (
    ...fns: (Read | Skip)[]
  ) => Read;
  return make(...steps.map((s) => s.step));
}

function symbolNode(s: Json, name: string): Node {
  const symbols = Array.isArray(s.symbols) ? (s.symbols as string[]) : [];
  const read: Read = (c) => {
    const i = readVarint(c);
    const symbol = symbols[i];
    if (symbol === undefined) throw new Malformed(`invalid ${name} enum index: ${i}`);
    return symbol;
  };
  return { read, skip: (c) => void read(c), checks: false, leaf: { raw: read, convert: null } };
}

/** Compiles a writer schema (parsed JSON); `projection` selects what the top-level record materialises. */
export function compileWalker(schema: unknown, projection: Projection = true): (c: Cursor) => unknown {
  const named = new Map<string, { schema: Json; ns: string }>();
  const inProgress = new Set<string>();

  const record = (s: Json, full: string, path: string[], proj: Projection): Node => {
    if (inProgress.has(full)) throw new Unsupported(`recursive type ${full}`);
    inProgress.add(full);
    const inner = namespaceOf(full);
    const fields = (s.fields as unknown[]).map((f) => {
      if (!isObject(f) || typeof f.name !== 'string')
        throw new Error(`record ${full}: a field without a name`);
      const sub = proj === true ? true : proj.get(f.name);
      return { name: f.name, sub, node: walk(f.type, inner, [...path, f.name], sub ?? true) };
    });
    inProgress.delete(full);
    const skip = sequence(fields.map((f) => ({ step: f.node.skip, name: null })));
    const checks = fields.some((f) => f.node.checks);
    if (s['connect.name'] === VARIABLE_SCALE_DECIMAL || full === VARIABLE_SCALE_DECIMAL) {
      if (fields.some((f) => f.node.leaf === undefined)) throw new Unsupported(`${full} with non-primitives`);
      const raw = sequence(fields.map((f) => ({ step: f.node.leaf!.raw, name: f.name })));
      // Avro gives it an int scale and bytes, which always convert.
      return leafNode(raw, skip, variableScaleDecimal, false, path);
    }
    if (fields.some((f) => f.sub !== undefined && f.node.read === undefined)) {
      return { read: undefined, skip, checks };
    }
    // Materialised fields get the value; the others are walked (and checked) in their place.
    const read = sequence(
      fields.map((f) =>
        f.sub === undefined ? { step: f.node.skip, name: null } : { step: f.node.read!, name: f.name },
      ),
    );
    return { read, skip, checks };
  };

  const union = (branches: unknown[], ns: string, path: string[], proj: Projection): Node => {
    const nodes = branches.map((b) => walk(b, ns, path, proj));
    const isNull = branches.map((b) => b === 'null' || (isObject(b) && b.type === 'null'));
    const pick = (c: Cursor): Node => {
      const i = readVarint(c);
      const node = nodes[i];
      if (node === undefined) throw new Malformed(`invalid union index: ${i}`);
      return node;
    };
    const skip: Skip = (c) => pick(c).skip(c);
    const checks = nodes.some((node) => node.checks);
    const others = nodes.filter((_, i) => !isNull[i]);
    if (others.length !== 1) {
      // avsc may wrap such a value ({branch: value}) and it is converted generically (no semantic types, so
      // nothing to check); not reproduced here.
      if (checks) throw new Unsupported('a union of several types with semantic types');
      return { read: undefined, skip, checks };
    }
    const value = others[0]!;
    const at = nodes.indexOf(value);
    // The index is checked against the branches here, so a bad one is Malformed, never a TypeError.
    const choose = (c: Cursor): boolean => {
      const i = readVarint(c);
      if (i === at) return true;
      if (nodes[i] === undefined) throw new Malformed(`invalid union index: ${i}`);
      return false;
    };
    const valueSkip = value.skip;
    const nullableSkip: Skip = (c) => {
      if (choose(c)) valueSkip(c);
    };
    const leaf = value.leaf;
    if (leaf !== undefined) {
      const leafRaw = leaf.raw;
      const raw: Read = (c) => (choose(c) ? leafRaw(c) : null);
      return leafNode(raw, nullableSkip, leaf.convert, value.checks, path);
    }
    const inner = value.read;
    const read: Read | undefined = inner && ((c) => (choose(c) ? inner(c) : null));
    return { read, skip: nullableSkip, checks };
  };

  const walk = (s: unknown, ns: string, path: string[], proj: Projection): Node => {
    if (typeof s === 'string') {
      const p = PRIMITIVE[s];
      if (p !== undefined) return leafNode(p.read, p.skip, avroLeafConverter(s), false, path);
      const ref = named.get(qualify(s, ns)) ?? named.get(s);
      if (ref === undefined) throw new Error(`Avro schema references undefined type "${s}"`);
      return walkNamed(ref.schema, ref.ns, path, proj);
    }
    if (Array.isArray(s)) return union(s, ns, path, proj);
    if (!isObject(s)) throw new Error(`not an Avro schema: ${JSON.stringify(s)}`);
    const type = s.type;
    if (typeof type !== 'string') return walk(type, ns, path, proj);
    if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
      if (typeof s.name !== 'string') throw new Error(`Avro ${type} without a name`);
      const full = qualify(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
      named.set(full, { schema: s, ns: namespaceOf(full) });
      return walkNamed(s, namespaceOf(full), path, proj);
    }
    if (type === 'array' || type === 'map') {
      const item = walk(type === 'array' ? s.items : s.values, ns, path, true);
      if (item.leaf === undefined) throw new Unsupported(`${type} of records or unions`);
      const { raw, skip } = blocks(item.leaf.raw, item.skip, type === 'map');
      const itemConvert = item.leaf.convert;
      const convert =
        itemConvert === null
          ? null
          : type === 'array'
            ? arrayConverter(itemConvert)
            : mapConverter(itemConvert);
      return leafNode(raw, skip, convert, item.checks, path);
    }
    const p = PRIMITIVE[type];
    if (p === undefined) return walk(type, ns, path, proj); // a reference written as {"type": "Name"}
    const convert = avroLeafConverter(s);
    const name = s['connect.name'];
    // Only text can fail to convert (a bad ISO timestamp, bad base64), and a Decimal without a scale.
    const fallible =
      convert !== null && (type === 'string' || (name === DECIMAL && scaleOf(s) === undefined));
    return leafNode(p.read, p.skip, convert, fallible, path);
  };

  const walkNamed = (s: Json, ns: string, path: string[], proj: Projection): Node => {
    const full = qualify(String(s.name), typeof s.namespace === 'string' ? s.namespace : ns);
    if (s.type === 'enum') return symbolNode(s, full);
    if (s.type === 'fixed') {
      const size = Number(s.size);
      const raw: Read = (c) => c.buf.subarray(advance(c, size), c.pos);
      return leafNode(raw, (c) => void advance(c, size), avroLeafConverter(s), false, path);
    }
    if (!Array.isArray(s.fields)) throw new Error(`Avro record ${full} without fields`);
    return record(s, full, path, proj);
  };

  const top = walk(schema, '', [], projection);
  if (top.read === undefined) throw new Unsupported('the top-level type cannot be materialised');
  return top.read;
}
