import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { fastRecordEncoder } from '../../../src/adapters/kafkajs-record.js';
import type { RecordInput } from '../../../src/adapters/kafkajs-record.js';

// kafkajs's own encoder is the oracle: this test does not load kafkajs-fix, which replaces it
const require = createRequire(import.meta.url);
type Encoded = { buf: Buffer; offset: number; readonly buffer: Buffer };
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  r: RecordInput,
) => Encoded;
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
const fast = fastRecordEncoder(kafkajsRecord, () => Object.create(Encoder.prototype) as Encoded);

test('produced records: the same bytes as kafkajs encodes, for keys, values, headers and deltas of every kind', () => {
  let x = 12345;
  let t = 0;
  const rand = (n: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % n;
  const text = (n: number) =>
    Array.from({ length: n }, () => ['a', 'é', '€', '𝄞', 'z', '"'][rand(6)] as string).join('');
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
  // a value over 16 KiB now and then: its length takes a three-byte varint
  const kinds: Array<() => Buffer | string | null> = [
    () => null,
    () => '',
    () => text(rand(40)),
    () => bytes(rand(300)),
    () => text(rand(3)),
    () => bytes(rand(9)),
    () => null,
    () => bytes(16384 + rand(60000)),
  ];
  const some = () => (kinds[rand(t % 10 === 0 ? 8 : 7)] as () => Buffer | string | null)();
  const deltas = [
    0,
    1,
    -1,
    63,
    64,
    -64,
    -65,
    8191,
    8192,
    2 ** 20,
    -(2 ** 20),
    2 ** 29,
    -(2 ** 30) + 1,
    2 ** 30,
    2 ** 33,
    -(2 ** 40),
  ];
  for (t = 0; t < 3000; t++) {
    const headers: Record<string, Buffer | string | Array<Buffer | string>> = {};
    for (let h = rand(4); h > 0; h--) {
      const v =
        rand(3) === 0 ? [text(rand(10)), bytes(rand(20))] : rand(2) === 0 ? text(rand(30)) : bytes(rand(30));
      headers[`${text(1 + rand(8))}${h}`] = v;
    }
    const record: RecordInput = {
      offsetDelta: t % 5 === 0 ? rand(100000) : t % 1000,
      timestampDelta: deltas[rand(deltas.length)] as number,
      key: some(),
      value: some(),
      ...(rand(3) === 0 ? {} : { headers }),
    };
    const want = kafkajsRecord(record).buffer;
    const encoded = fast(record) as Encoded;
    assert.ok(Buffer.isBuffer(encoded.buf), 'an Encoder the batch can read');
    if (!encoded.buffer.equals(want))
      assert.fail(`record ${t}: ${encoded.buffer.toString('hex', 0, 64)} != ${want.toString('hex', 0, 64)}`);
  }
  // what kafkajs itself refuses (a null header value) is still refused
  assert.throws(() => fast({ key: 'k', value: 'v', headers: { h: null as unknown as string } }));
});
