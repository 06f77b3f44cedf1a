/**
 * Confluent's wire format around a schema-registry-encoded datum: magic byte 0, the writer schema id as a
 * big-endian int32, then the datum. It is the registry's protocol, so it lives with the registry adapter;
 * it is pure byte handling, so the decode stage, the emitters and the sample producers share it without
 * touching the registry client.
 */

export const FRAME_HEADER_BYTES = 5;
const MAGIC = 0;

/** The writer schema id of a framed buffer, or null when the buffer is not framed. */
export function framedSchemaId(buf: Buffer): number | null {
  return buf.length >= FRAME_HEADER_BYTES && buf[0] === MAGIC ? buf.readInt32BE(1) : null;
}

/** The 5-byte header for `schemaId`, for encoders that write it once and prepend it to every datum. */
export function frameHeader(schemaId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header[0] = MAGIC;
  header.writeInt32BE(schemaId, 1);
  return header;
}

/** `body` framed with `schemaId`, in one allocation. */
export function frame(schemaId: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out[0] = MAGIC;
  out.writeInt32BE(schemaId, 1);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** The datum of a framed buffer (a view, not a copy). */
export function framedDatum(buf: Buffer): Buffer {
  return buf.subarray(FRAME_HEADER_BYTES);
}
