import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { fastRecordDecoder, fastRecordEncoder } from '../../../src/adapters/kafkajs-record.js';
import type { RecordBatchContext, RecordInput } from '../../../src/adapters/kafkajs-record.js';

// kafkajs's own encoder is the oracle: this test does not load kafkajs-fix, which replaces it
const require = createRequire(import.meta.url);
type Encoded = { buf: Buffer; offset: number; readonly buffer: Buffer };
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  r: RecordInput,
) => Encoded;
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: { buffer: Buffer; offset: number },
  b: RecordBatchContext,
) => unknown;
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => {
  buffer: Buffer;
  offset: number;
  readVarIntBytes(): Buffer;
};
// the oracles must be kafkajs's own functions, not the replacements (as in a process that loaded kafkajs-fix)
assert.match(String(kafkajsRecord), /new Encoder\(\)/);
assert.match(String(kafkajsDecode), /Long\.fromValue/);

let encoderFallbacks = 0;
const fast = fastRecordEncoder(
  (r) => {
    encoderFallbacks += 1;
    return kafkajsRecord(r);
  },
  () => Object.create(Encoder.prototype) as Encoded,
);
let decoderFallbacks = 0;
const decode = fastRecordDecoder((d, b) => {
  decoderFallbacks += 1;
  return kafkajsDecode(d, b);
});

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
  let expectedFallbacks = 0;
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
    // the only records left to kafkajs here: timestamp deltas beyond ±2^30
    if (Math.abs(record.timestampDelta as number) >= 2 ** 30) expectedFallbacks += 1;
    const encoded = fast(record) as Encoded;
    assert.ok(Buffer.isBuffer(encoded.buf), 'an Encoder the batch can read');
    if (!encoded.buffer.equals(want))
      assert.fail(`record ${t}: ${encoded.buffer.toString('hex', 0, 64)} != ${want.toString('hex', 0, 64)}`);
  }
  assert.equal(encoderFallbacks, expectedFallbacks, 'every other record took the fast path');
  // what kafkajs itself refuses (a null header value) is still refused
  assert.throws(() => fast({ key: 'k', value: 'v', headers: { h: null as unknown as string } }));
});

test('fetched records: the same message objects as kafkajs decodes, offsets and timestamps exact', () => {
  decoderFallbacks = 0;
  let expectedFallbacks = 0;
  let x = 99;
  const rand = (n: number) => (x = (x * 48271) % 2147483647) % n;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
  const firsts = [
    '0',
    '1',
    '4095',
    '9007199254740991',
    '9007199254740993',
    '999999999999999',
    '1764600000123',
  ];
  const deltas = [
    0,
    1,
    -1,
    63,
    -64,
    8192,
    2 ** 20,
    -(2 ** 29),
    2 ** 40,
    -(2 ** 47),
    2 ** 48,
    2 ** 52,
    -(2 ** 55),
  ];
  const names = ['a', 'é€', 'toString', '__proto__', 'h'];
  for (let t = 0; t < 3000; t++) {
    const headers: Record<string, Buffer | Array<Buffer>> = {};
    for (let h = rand(4); h > 0; h--) {
      const name = names[rand(names.length)] as string;
      if (name === '__proto__' && !Object.hasOwn(headers, name))
        Object.defineProperty(headers, name, { value: bytes(3), enumerable: true });
      else if (name === '__proto__') continue;
      else headers[name] = rand(3) === 0 ? [bytes(rand(5)), bytes(rand(5))] : bytes(rand(20));
    }
    const deltaAt = rand(deltas.length);
    const record = kafkajsRecord({
      offsetDelta: rand(3) === 0 ? rand(2 ** 30) : rand(500),
      timestampDelta: deltas[deltaAt] as number,
      key: rand(4) === 0 ? null : bytes(rand(40)),
      value: rand(6) === 0 ? null : bytes(rand(t % 50 === 0 ? 40000 : 400)),
      headers,
    }).buffer;
    // a record is read from its own decoder, past its length prefix (as kafkajs's batch decoder does)
    const batch: RecordBatchContext = {
      firstOffset: firsts[rand(firsts.length)] as string,
      firstTimestamp: firsts[rand(firsts.length)] as string,
      magicByte: 2,
      isControlBatch: rand(5) === 0,
      timestampType: rand(4) === 0 ? 1 : 0,
      maxTimestamp: '1764600000999',
    };
    const read = (fn: typeof decode) => {
      const body = new Decoder(record).readVarIntBytes();
      return fn(new Decoder(body), batch);
    };
    // left to kafkajs: first offsets or timestamps of 16 digits, deltas needing more than 7 bytes, __proto__
    const small = (v: string) => /^-?\d{1,15}$/.test(v);
    const delta = deltas[deltaAt] as number;
    if (
      !small(batch.firstOffset) ||
      !small(batch.firstTimestamp) ||
      delta >= 2 ** 48 ||
      delta < -(2 ** 48) ||
      Object.hasOwn(headers, '__proto__')
    )
      expectedFallbacks += 1;
    assert.deepStrictEqual(read(decode), read(kafkajsDecode), `record ${t}`);
  }
  assert.equal(decoderFallbacks, expectedFallbacks, 'every other record took the fast path');
});

test('fetched records kafkajs never produces: null header names and values, no header array, a -1 timestamp', () => {
  // a record body written by hand: attributes, timestamp delta, offset delta, key, value, headers
  const zigzag = (n: number) => {
    const out: number[] = [];
    let v = ((n << 1) ^ (n >> 31)) >>> 0;
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return out;
  };
  const body = (headers: number[]) =>
    Buffer.from([0, ...zigzag(-3), ...zigzag(7), ...zigzag(1), 0x6b, ...zigzag(-1), ...headers]);
  const cases: Array<[string, Buffer]> = [
    ['no header array (-1)', body(zigzag(-1))],
    ['no headers', body(zigzag(0))],
    ['a null header name', body([...zigzag(1), ...zigzag(-1), ...zigzag(1), 0x76])],
    ['a null header value', body([...zigzag(1), ...zigzag(1), 0x68, ...zigzag(-1)])],
    [
      'a repeated name, null first',
      body([...zigzag(2), ...zigzag(1), 0x68, ...zigzag(-1), ...zigzag(1), 0x68, ...zigzag(1), 0x77]),
    ],
  ];
  for (const firstTimestamp of ['-1', '0', '1764600000000']) {
    const batch: RecordBatchContext = {
      firstOffset: '41',
      firstTimestamp,
      magicByte: 2,
      timestampType: 0,
      maxTimestamp: '-1',
    };
    for (const [name, bytes] of cases)
      assert.deepStrictEqual(
        decode(new Decoder(bytes), batch),
        kafkajsDecode(new Decoder(bytes), batch),
        `${name}, first timestamp ${firstTimestamp}`,
      );
  }
});
