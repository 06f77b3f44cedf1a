import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import avro from 'avsc';
import { AvroEncoder } from '../../../src/emit/encoder.js';
import { Random } from '../../../src/sample/index.js';

/** The Confluent frame written out by hand: magic 0, the id as a big-endian int32, then avsc's bytes. */
function expected(id: number, type: avro.Type, value: unknown): Buffer {
  const header = Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);
  return Buffer.concat([header, type.toBuffer(value)]);
}

test("Avro encoder: the Confluent frame around avsc's own bytes, for random values of the output schemas", () => {
  for (const [file, id] of [
    ['schemas/predictions-value.avsc', 7],
    ['schemas/audit-value.avsc', 0x01020304],
    ['schemas/dlq-envelope.avsc', 2 ** 31 - 1],
  ] as const) {
    const schema = JSON.parse(readFileSync(file, 'utf8')) as avro.Schema;
    const type = avro.Type.forSchema(schema);
    const encoder = AvroEncoder.of<unknown>(id, schema);
    for (let i = 0; i < 500; i++) {
      const value = type.random();
      const got = encoder.encode(value);
      assert.deepEqual(got, expected(id, type, value), `${file} value ${i}`);
      assert.ok(type.toBuffer(encoder.decode(got)).equals(type.toBuffer(value)), 'decodes back');
    }
  }
});

test('Avro encoder: values larger than its buffer, between small ones, come out whole and alone', () => {
  const schema: avro.Schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
  const type = avro.Type.forSchema(schema);
  const encoder = AvroEncoder.of<{ s: string }>(3, schema);
  const random = new Random(11);
  const outs: Array<[Buffer, { s: string }]> = [];
  for (let i = 0; i < 200; i++) {
    const size = random.next() < 0.2 ? random.int(4000, 70000) : random.int(0, 50);
    const value = { s: String.fromCharCode(97 + (i % 26)).repeat(size) + (i % 3 === 0 ? 'é€😀' : '') };
    outs.push([encoder.encode(value), value]);
  }
  // checked after all were encoded: no output shares the encoder's buffer
  for (const [got, value] of outs) assert.deepEqual(got, expected(3, type, value));
});

test('Avro encoder: framed sizes at and around its buffer and the grown buffer come out whole', () => {
  const schema: avro.Schema = { type: 'record', name: 'R', fields: [{ name: 's', type: 'string' }] };
  const type = avro.Type.forSchema(schema);
  const encoder = AvroEncoder.of<{ s: string }>(9, schema);
  // the frame is 5 bytes, the string's length prefix 2 bytes for 64-8191 characters: total = chars + 7
  for (const total of [4095, 4096, 4097, 8191, 8192, 8193, 16384, 100, 4096]) {
    const value = { s: 'x'.repeat(total - 7) };
    const got = encoder.encode(value);
    if (total <= 8193) assert.equal(got.length, total);
    assert.deepEqual(got, expected(9, type, value), `framed size ${total}`);
  }
});
