/**
 * Kafka Connect and Debezium semantic types → plain JS values. The writer schema names the semantic type
 * (`connect.name` in Avro, `name` in Connect JSON, or an Avro `logicalType`); these functions never guess a
 * type from a value. Conventions: decimals → number, instants → epoch millis (floored), dates → epoch millis
 * at UTC midnight, times of day → millis since midnight, int64 beyond ±2^53 → decimal string.
 */
import { ConversionError } from './reject.js';

export type Convert = (value: unknown) => unknown;

export const DECIMAL = 'org.apache.kafka.connect.data.Decimal';
export const VARIABLE_SCALE_DECIMAL = 'io.debezium.data.VariableScaleDecimal';

const MS_PER_DAY = 86_400_000;
const INTEGER = /^-?\d+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** decimal.handling.mode=string: Debezium writes the plain decimal ("1234.56", "-0.01", "NaN"). */
const DECIMAL_TEXT = /^-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$|^-?Infinity$|^NaN$/;

/** int64 as JS: a number while it is a safe integer, else its exact decimal string (never a rounded number). */
export function int64(v: number | bigint | string): number | string {
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : typeof v === 'bigint' ? v.toString() : v;
}

/** Unscaled two's-complement big-endian integer (Connect `Decimal`, Avro `decimal`) × 10^-scale. */
export function decimalFromBytes(bytes: Uint8Array, scale: number): number {
  const n = bytes.length;
  if (n === 0) return 0;
  const negative = (bytes[0]! & 0x80) !== 0;
  if (n <= 6) {
    let x = 0;
    for (let i = 0; i < n; i++) x = x * 256 + bytes[i]!;
    if (negative) x -= 2 ** (8 * n);
    // Both operands are exact, so the quotient is the double nearest to the decimal, as parsing it would be.
    if (scale === 0) return x;
    if (scale > 0 && scale <= 22) return x / 10 ** scale;
    return Number(`${x}e${-scale}`);
  }
  let big = 0n;
  for (let i = 0; i < n; i++) big = (big << 8n) | BigInt(bytes[i]!);
  if (negative) big -= 1n << BigInt(8 * n);
  return Number(`${big}e${-scale}`);
}

function base64Bytes(s: string): Buffer {
  // Buffer.from(…, 'base64') skips invalid characters silently; a decimal must not be half-read.
  if (s.length % 4 !== 0 || !BASE64.test(s)) throw new ConversionError(`"${s}" is not a base64 decimal`);
  return Buffer.from(s, 'base64');
}

function isDecimalText(s: string): boolean {
  // Base64 never contains "." or "-", and string mode always writes the scale's digits ("1234.00"), so only a
  // scale-0 value in string mode ("1234") is ambiguous; it is read as base64, Debezium's default encoding.
  return DECIMAL_TEXT.test(s) && (s.includes('.') || s.startsWith('-') || s === 'NaN' || s === 'Infinity');
}

/**
 * A Connect `Decimal`. Bytes (Avro) or base64 text (JsonConverter) need the schema's scale; a JSON number
 * (decimal.format=NUMERIC, or decimal.handling.mode=double) or decimal text (mode=string, recognised by its
 * "." or leading "-", which base64 never contains) is taken as is.
 */
export function decimalConverter(scale: number | undefined): Convert {
  return (v) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && isDecimalText(v)) return Number(v);
    let bytes: Uint8Array;
    if (v instanceof Uint8Array) bytes = v;
    else if (typeof v === 'string') bytes = base64Bytes(v);
    else throw new ConversionError(`expected a decimal, got ${typeof v}`);
    if (scale === undefined) {
      throw new ConversionError('an encoded decimal arrived but no scale is declared for it');
    }
    return decimalFromBytes(bytes, scale);
  };
}

/** Debezium's `VariableScaleDecimal` (numeric without precision): struct `{ scale: int32, value: bytes }`. */
export const variableScaleDecimal: Convert = (v) => {
  if (typeof v === 'number') return v;
  if (typeof v !== 'object' || v === null) throw new ConversionError('expected a {scale, value} struct');
  const { scale, value } = v as { scale?: unknown; value?: unknown };
  if (typeof scale !== 'number' || !Number.isInteger(scale)) {
    throw new ConversionError('VariableScaleDecimal without an integer scale');
  }
  if (value instanceof Uint8Array) return decimalFromBytes(value, scale);
  if (typeof value === 'string') return decimalFromBytes(base64Bytes(value), scale);
  throw new ConversionError('VariableScaleDecimal without bytes');
};

function floorDiv(v: number | string, divisor: number): number {
  if (typeof v === 'number') return Math.floor(v / divisor);
  const big = BigInt(v);
  const d = BigInt(divisor);
  let q = big / d;
  if (big % d !== 0n && big < 0n) q -= 1n;
  return Number(q);
}

function parseInstant(s: string): number {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new ConversionError(`"${s}" is not an ISO-8601 timestamp`);
  return ms;
}

/** An epoch count in 1/`perMs` of a millisecond (1 = millis, 1000 = micros, 1e6 = nanos) → epoch millis. */
function epochIn(perMs: number): Convert {
  return (v) => {
    if (typeof v === 'number') return perMs === 1 ? v : Math.floor(v / perMs);
    if (typeof v === 'string') return INTEGER.test(v) ? floorDiv(v, perMs) : parseInstant(v);
    throw new ConversionError(`expected an epoch number, got ${typeof v}`);
  };
}

const epochDays: Convert = (v) => {
  if (typeof v === 'number') return v * MS_PER_DAY;
  if (typeof v === 'string') return INTEGER.test(v) ? Number(v) * MS_PER_DAY : parseInstant(v);
  throw new ConversionError(`expected days since epoch, got ${typeof v}`);
};

const zonedTimestamp: Convert = (v) => {
  if (typeof v === 'string') return parseInstant(v);
  if (typeof v === 'number') return v;
  throw new ConversionError(`expected an ISO-8601 timestamp, got ${typeof v}`);
};

const millis = epochIn(1);
const fromMicros = epochIn(1000);
const fromNanos = epochIn(1_000_000);

/** Plain bytes stay bytes, but as base64 text: what JsonConverter writes, and JSON-safe downstream. */
export const bytesToBase64: Convert = (v) =>
  v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;

const INTEGRAL_TEXT = /^-?\d+$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * float/double: an integral literal beyond 2^53 reaches us as text (see parseJson), and Jackson writes the
 * non-finite doubles as "NaN"/"Infinity"; both are still doubles (the validate stage refuses non-finite
 * ones). Any other text is not a number: a string where a double is declared is a type error, not a
 * value to guess at.
 */
export const toDouble: Convert = (v) => {
  if (typeof v !== 'string') return v;
  if (INTEGRAL_TEXT.test(v) || NON_FINITE.has(v)) return Number(v);
  throw new ConversionError(`expected a number, got the string ${JSON.stringify(v.slice(0, 40))}`);
};

/**
 * The converter for a semantic type, or null when values pass through unchanged. `scale` is the declared
 * decimal scale (Avro `scale` attribute or Connect `parameters.scale`).
 */
export function semanticConverter(
  name: string | undefined,
  logicalType: string | undefined,
  scale: number | undefined,
): Convert | null {
  switch (name) {
    case DECIMAL:
      return decimalConverter(scale);
    case VARIABLE_SCALE_DECIMAL:
      return variableScaleDecimal;
    case 'io.debezium.time.Date':
    case 'org.apache.kafka.connect.data.Date':
      return epochDays;
    case 'io.debezium.time.Timestamp':
    case 'org.apache.kafka.connect.data.Timestamp':
    case 'io.debezium.time.Time':
    case 'org.apache.kafka.connect.data.Time':
      return millis;
    case 'io.debezium.time.MicroTimestamp':
    case 'io.debezium.time.MicroTime':
      return fromMicros;
    case 'io.debezium.time.NanoTimestamp':
    case 'io.debezium.time.NanoTime':
      return fromNanos;
    case 'io.debezium.time.ZonedTimestamp':
      return zonedTimestamp;
    default:
      break;
  }
  switch (logicalType) {
    case 'decimal':
      // The Avro spec defaults an absent scale to 0.
      return decimalConverter(scale ?? 0);
    case 'date':
      return epochDays;
    case 'timestamp-millis':
    case 'local-timestamp-millis':
    case 'time-millis':
      return millis;
    case 'timestamp-micros':
    case 'local-timestamp-micros':
    case 'time-micros':
      return fromMicros;
    case 'timestamp-nanos':
    case 'local-timestamp-nanos':
      return fromNanos;
    default:
      return null;
  }
}

const TIME_CONVERTERS: ReadonlySet<Convert> = new Set([
  epochDays,
  millis,
  fromMicros,
  fromNanos,
  zonedTimestamp,
]);

/**
 * What a semantic type decodes to, for the validate stage's type checks: epoch millis ('time'), a number
 * (decimals), or null when the type has no semantic converter. Derived from `semanticConverter`, so the
 * list of Debezium/Connect/Avro names lives in one place.
 */
export function semanticKind(
  name: string | undefined,
  logicalType: string | undefined,
): 'time' | 'number' | null {
  const c = semanticConverter(name, logicalType, 0);
  if (c === null) return null;
  return TIME_CONVERTERS.has(c) ? 'time' : 'number';
}
