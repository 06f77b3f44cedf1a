/**
 * kafkajs 2.2.4's encoder and decoder of one record of a record batch (protocol/recordBatch/record/v0),
 * written again to do the same with less work (installed by kafkajs-fix.ts).
 *
 * Encoding: kafkajs allocates a zero-filled 512-byte buffer per record and grows it by copying when the
 * record is larger, makes an array and a Buffer for every varint, and encodes the timestamp delta with
 * 64-bit Long arithmetic object by object. A produce of a window's predictions runs it once per output
 * event: in a CPU profile of a 100k drain the record encoder was 3.3 % of the process and the produce
 * request's encoding 7 %. This one sizes the record first and writes it into one buffer of that size.
 * Records it does not handle the same way for sure (a timestamp delta outside ±2^30, a key, value or header
 * value that is neither a string nor a Buffer, which kafkajs fails on or stringifies) go to kafkajs's own
 * encoder.
 *
 * Decoding: see fastRecordDecoder. Unit tests compare both with kafkajs's own on random records.
 */

/** What kafkajs's record encoder takes (a produced message with its deltas in the batch). */
export interface RecordInput {
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string>>>;
}

/** kafkajs's Encoder as far as a record batch reads it: `buf`, `offset` and the `buffer` getter. */
interface EncoderLike {
  buf: Buffer;
  offset: number;
}

const INT30 = 2 ** 30;

/** Bytes of a zigzag varint of an int32. */
function varIntSize(n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size += 1;
  }
  return size;
}

function writeVarInt(buf: Buffer, at: number, n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

const bytesOf = (v: Buffer | string): number =>
  typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;

const isBytes = (v: unknown): v is Buffer | string => typeof v === 'string' || Buffer.isBuffer(v);

function writeBytes(buf: Buffer, at: number, v: Buffer | string, size: number): number {
  at = writeVarInt(buf, at, size);
  if (typeof v === 'string') buf.write(v, at, size, 'utf8');
  else v.copy(buf, at);
  return at + size;
}

/** A record's key, value and headers as kafkajs's record encoder reads them (after its defaults). */
type RecordParts = Pick<RecordInput, 'key' | 'value' | 'headers'>;

/** The header values in kafkajs's order (by key, an array's values in order), as name/value pairs. */
function headerPairs(headers: NonNullable<RecordInput['headers']>): Array<Buffer | string> {
  const pairs: Array<Buffer | string> = [];
  for (const k of Object.keys(headers)) {
    const h = headers[k];
    if (Array.isArray(h)) for (const v of h as ReadonlyArray<unknown>) pairs.push(k, v as Buffer | string);
    else pairs.push(k, h as Buffer | string);
  }
  return pairs;
}

/**
 * Bytes of the record's body (what its leading length varint counts), or -1 when this module does not
 * encode it the way kafkajs does for sure (a delta outside ±2^30, a key, value or header value that is
 * neither a string nor a Buffer, headers that are not an object): kafkajs's own encoder must then.
 */
export function recordBodySize(r: RecordParts, offsetDelta: number, timestampDelta: number): number {
  const { key = null, value = null, headers = {} } = r;
  if (
    !Number.isInteger(timestampDelta) ||
    Math.abs(timestampDelta) >= INT30 ||
    !Number.isInteger(offsetDelta) ||
    Math.abs(offsetDelta) >= INT30 ||
    (key !== null && !isBytes(key)) ||
    (value !== null && !isBytes(value)) ||
    typeof headers !== 'object' ||
    headers === null
  )
    return -1;
  const pairs = headerPairs(headers);
  let body = 1 + varIntSize(timestampDelta) + varIntSize(offsetDelta) + varIntSize(pairs.length / 2);
  const keySize = key === null ? -1 : bytesOf(key);
  const valueSize = value === null ? -1 : bytesOf(value);
  body += keySize < 0 ? 1 : varIntSize(keySize) + keySize;
  body += valueSize < 0 ? 1 : varIntSize(valueSize) + valueSize;
  for (const p of pairs) {
    if (!isBytes(p)) return -1;
    const n = bytesOf(p);
    body += varIntSize(n) + n;
  }
  return body;
}

/** Bytes of the whole record: its length varint and a body of `body` bytes. */
export const recordSize = (body: number): number => varIntSize(body) + body;

/** Writes a record recordBodySize accepted (length varint, then the body) at `at`; returns where it ends. */
export function writeRecord(
  buf: Buffer,
  at: number,
  r: RecordParts,
  offsetDelta: number,
  timestampDelta: number,
  body: number,
): number {
  const { key = null, value = null, headers = {} } = r;
  const pairs = headerPairs(headers);
  at = writeVarInt(buf, at, body);
  buf[at++] = 0; // attributes: none used
  at = writeVarInt(buf, at, timestampDelta);
  at = writeVarInt(buf, at, offsetDelta);
  at = key === null ? writeVarInt(buf, at, -1) : writeBytes(buf, at, key, bytesOf(key));
  at = value === null ? writeVarInt(buf, at, -1) : writeBytes(buf, at, value, bytesOf(value));
  at = writeVarInt(buf, at, pairs.length / 2);
  for (const p of pairs) at = writeBytes(buf, at, p, bytesOf(p));
  return at;
}

/**
 * The record encoder to install in place of kafkajs's: `original` is kafkajs's (for the records this one
 * leaves to it), `newEncoder` makes an empty kafkajs Encoder to hold the bytes. (A produce request's records
 * are written by kafkajs-produce.ts straight into the request; this one serves any other caller.)
 */
export function fastRecordEncoder(
  original: (record: RecordInput) => unknown,
  newEncoder: () => EncoderLike,
): (record: RecordInput) => unknown {
  return (record) => {
    const { offsetDelta = 0, timestampDelta = 0 } = record;
    const body = recordBodySize(record, offsetDelta, timestampDelta);
    if (body < 0) return original(record);
    const buf = Buffer.allocUnsafe(recordSize(body));
    const encoder = newEncoder();
    encoder.buf = buf;
    encoder.offset = writeRecord(buf, 0, record, offsetDelta, timestampDelta, body);
    return encoder;
  };
}

/** kafkajs's Decoder as the record decoder uses it: the record's bytes and a read position. */
interface DecoderLike {
  readonly buffer: Buffer;
  offset: number;
}

/** The batch's fields each record decoder call gets (kafkajs's recordBatch/v0/decoder). */
export interface RecordBatchContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly magicByte: number;
  readonly isControlBatch?: boolean;
  readonly timestampType: number;
  readonly maxTimestamp: string;
}

const LOG_APPEND_TIME = 1;
/** int64 text a double holds exactly, with room for any delta added below. */
const SMALL_INT64 = /^-?\d{1,15}$/;

/**
 * The record decoder to install in place of kafkajs's (protocol/recordBatch/record/v0/decoder): the same
 * object, read without Long arithmetic. kafkajs adds the offset and timestamp deltas to the batch's first
 * offset and timestamp in Long objects and prints them (several objects and a long division per record),
 * decodes the timestamp delta with a Long per byte, and builds the headers object by spreading it once per
 * header. Here offsets and timestamps below 10^15 are added as numbers (exact: far below 2^53); anything
 * else (a larger first offset or timestamp, a timestamp delta of more than 7 bytes, a header named
 * `__proto__`, a negative header count other than -1) is read by kafkajs's own decoder from the start.
 */
export function fastRecordDecoder(
  original: (decoder: DecoderLike, batch: RecordBatchContext) => unknown,
): (decoder: DecoderLike, batch: RecordBatchContext) => unknown {
  return (decoder, batch) => {
    const {
      firstOffset,
      firstTimestamp,
      magicByte,
      isControlBatch = false,
      timestampType,
      maxTimestamp,
    } = batch;
    if (!SMALL_INT64.test(firstOffset) || !SMALL_INT64.test(firstTimestamp)) return original(decoder, batch);
    const buf = decoder.buffer;
    const start = decoder.offset;
    let at = start;
    // kafkajs's own varint arithmetic, step for step (so odd inputs read the same)
    const varInt = (): number => {
      let byte: number;
      let result = 0;
      let i = 0;
      do {
        byte = buf[at++] as number;
        result += (byte & 0x7f) << i;
        i += 7;
      } while (byte >= 0x80);
      return (result >>> 1) ^ -(result & 1);
    };
    const varBytes = (): Buffer | null => {
      const n = varInt();
      if (n === -1) return null;
      const out = buf.slice(at, at + n);
      at += n;
      return out;
    };
    const attributes = buf.readInt8(at++);
    // the timestamp delta: a zigzag varlong of at most 7 bytes (49 bits) is exact as a number
    let zz = 0;
    let byte: number;
    let shift = 0;
    do {
      if (shift > 42) {
        decoder.offset = start;
        return original(decoder, batch);
      }
      byte = buf[at++] as number;
      zz += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte >= 0x80);
    const timestampDelta = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    const timestamp =
      timestampType === LOG_APPEND_TIME && maxTimestamp
        ? maxTimestamp
        : String(Number(firstTimestamp) + timestampDelta);
    const offset = String(Number(firstOffset) + varInt());
    const key = varBytes();
    const value = varBytes();
    const count = varInt();
    const headers: Record<string, unknown> = {};
    if (count < -1) {
      decoder.offset = start;
      return original(decoder, batch);
    }
    for (let h = 0; h < count; h++) {
      const n = varInt();
      const name = n === -1 ? null : buf.toString('utf8', at, at + n);
      if (n !== -1) at += n;
      const v = varBytes();
      if (name === '__proto__') {
        decoder.offset = start;
        return original(decoder, batch);
      }
      // as kafkajs merges them: a repeated header becomes an array of its values, in order
      const prev = headers[name as string];
      headers[name as string] = prev === undefined ? v : Array.isArray(prev) ? prev.concat([v]) : [prev, v];
    }
    decoder.offset = at;
    return {
      magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext: batch,
    };
  };
}
