import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { fastProduceRequest, fastRequestFrame } from '../../../src/adapters/kafkajs-produce.js';
import type {
  FramedRequest,
  KafkaEncoder,
  ProduceMessage,
  ProduceRequest,
  ProduceRequestArgs,
} from '../../../src/adapters/kafkajs-produce.js';
import { crc32c } from '../../../src/util/crc32c.js';

// kafkajs's own request and framing are the oracles: this test does not load kafkajs-fix, which replaces them
const require = createRequire(import.meta.url);
const kafkajsProduce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (
  a: ProduceRequestArgs,
) => ProduceRequest;
const kafkajsFrame = require('kafkajs/src/protocol/request.js') as (
  r: FramedRequest,
) => Promise<KafkaEncoder>;
const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
const Long = require('kafkajs/src/utils/long.js') as {
  fromInt(n: number): unknown;
  fromValue(v: unknown): unknown;
};
assert.match(String(kafkajsProduce), /new Encoder\(\)/);
assert.match(String(kafkajsFrame), /new Encoder\(\)/);

const newEncoder = () => Object.create(Encoder.prototype) as KafkaEncoder;
let fallbacks = 0;
const fast = fastProduceRequest({
  original: (a) => {
    fallbacks += 1;
    return kafkajsProduce(a);
  },
  newEncoder,
  noProducerId: Long.fromInt(-1),
  crc32c,
});
const frame = fastRequestFrame(newEncoder);

/** Both encodings at one fixed Date.now (a batch without timestamps takes the time of its encoding). */
async function bothAt<T>(now: number, run: () => Promise<[T, T]>): Promise<[T, T]> {
  const realNow = Date.now;
  Date.now = () => now;
  try {
    return await run();
  } finally {
    Date.now = realNow;
  }
}

function randomRequests(seed: number) {
  let x = seed;
  const rand = (n: number) => (x = (x * 48271) % 2147483647) % n;
  const text = (n: number) =>
    Array.from({ length: n }, () => ['a', 'é', '€', '𝄞', 'z', '"'][rand(6)] as string).join('');
  // random bytes cut from one pool (making each value byte by byte made this test take minutes)
  const pool = Buffer.from(Array.from({ length: 40000 }, () => rand(256)));
  const bytes = (n: number) => {
    const at = rand(pool.length - n);
    return pool.subarray(at, at + n);
  };
  const field = (): Buffer | string | null | undefined =>
    [null, undefined, '', text(rand(30)), bytes(rand(200)), bytes(rand(20000))][rand(rand(4) === 0 ? 6 : 5)];
  const message = (): ProduceMessage => {
    const headers: Record<string, Buffer | string | Array<Buffer | string>> = {};
    for (let h = rand(3); h > 0; h--)
      headers[`${text(1 + rand(5))}${h}`] = rand(3) === 0 ? [text(4), bytes(3)] : bytes(rand(9));
    const ts = rand(4);
    return {
      key: field(),
      value: field(),
      ...(rand(2) === 0 ? {} : { headers }),
      ...(ts === 0
        ? {}
        : ts === 1
          ? { timestamp: 1764800000000 + rand(100000) }
          : { timestamp: String(1764800000000 + rand(900000)) }),
    };
  };
  const requests: ProduceRequestArgs[] = [];
  for (let r = 0; r < 300; r++) {
    const topicData = Array.from({ length: 1 + rand(3) }, (_, t) => ({
      topic: `${text(1 + rand(12))}-${t}`,
      partitions: Array.from({ length: 1 + rand(4) }, (_, p) => ({
        partition: p * 3 + rand(3),
        ...(rand(2) === 0 ? {} : { firstSequence: rand(2 ** 31) }),
        messages: Array.from({ length: 1 + rand(r % 10 === 0 ? 400 : 30) }, message),
      })),
    }));
    const transactional = rand(3) !== 0;
    requests.push({
      acks: [-1, 1, 0][rand(3)] as number,
      timeout: rand(60000),
      ...(transactional
        ? {
            transactionalId: `tx-${text(rand(20))}`,
            producerId: Long.fromValue(String(rand(2 ** 31) * 4096)),
            producerEpoch: rand(30000),
          }
        : [
            {},
            { transactionalId: null },
            // an idempotent producer outside transactions
            { producerId: Long.fromValue(String(rand(2 ** 31))), producerEpoch: rand(5), compression: 0 },
          ][rand(3)]),
      topicData,
    });
  }
  return requests;
}

test('produce requests: the same bytes as kafkajs encodes, for topics, partitions, records, timestamps and producers of every kind', async () => {
  fallbacks = 0;
  const now = 1764800050000;
  for (const [i, args] of randomRequests(7).entries()) {
    const [got, want] = await bothAt(now, async () => [
      (await fast(args).encode()).buffer,
      (await kafkajsProduce(args).encode()).buffer,
    ]);
    if (!got.equals(want))
      assert.fail(
        `request ${i}: ${got.length} bytes != ${want.length} (first difference at ${[...got].findIndex((b, k) => b !== want[k])})`,
      );
    const a = fast(args);
    const b = kafkajsProduce(args);
    assert.deepEqual(
      [a.apiKey, a.apiVersion, a.apiName, a.expectResponse()],
      [b.apiKey, b.apiVersion, b.apiName, b.expectResponse()],
    );
  }
  assert.equal(fallbacks, 0, 'every request took the one-buffer path');
});

class MessageWithGetters {
  get key(): string {
    return 'k';
  }
  get value(): string {
    return 'v';
  }
}

test('produce requests it leaves to kafkajs: compression, a partition without messages, a record kafkajs must encode', async () => {
  fallbacks = 0;
  const base = (messages: ProduceMessage[]): ProduceRequestArgs => ({
    acks: -1,
    timeout: 30000,
    topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }],
  });
  const cases: Array<[string, ProduceRequestArgs]> = [
    ['gzip', { ...base([{ key: 'k', value: 'v' }]), compression: 1 }],
    ['no messages', base([])],
    [
      'a timestamp delta beyond 2^30',
      base([
        { value: 'a', timestamp: 1 },
        { value: 'b', timestamp: 2 ** 31 },
      ]),
    ],
    ['a message with getters (kafkajs encodes a copy of its own fields)', base([new MessageWithGetters()])],
    // kafkajs fails on it, and so does this one (through kafkajs)
    ['a number as key', base([{ key: 7 as unknown as string, value: 'v' }])],
  ];
  const outcome = async (r: ProduceRequest) => {
    try {
      return (await r.encode()).buffer;
    } catch (err) {
      return (err as Error).message;
    }
  };
  for (const [what, args] of cases) {
    const [got, want] = await bothAt(1764800050000, async () => [
      await outcome(fast(args)),
      await outcome(kafkajsProduce(args)),
    ]);
    assert.deepEqual(got, want, what);
  }
  assert.equal(fallbacks, cases.length);
});

test('request framing: the same bytes as kafkajs frames, for any payload and client id', async () => {
  const args = randomRequests(11).slice(0, 40);
  for (const [i, a] of args.entries()) {
    for (const clientId of ['streamscore', 'é𝄞', '', null]) {
      const framed = { correlationId: i * 7919, clientId, request: fast(a) };
      const [got, want] = await bothAt(1764800050000, async () => [
        (await frame(framed)).buffer,
        (await kafkajsFrame(framed)).buffer,
      ]);
      assert.ok(got.equals(want), `request ${i}, client id ${String(clientId)}`);
    }
  }
  // what kafkajs refuses (an encode that gives no Encoder) is still refused
  const bad = {
    correlationId: 1,
    clientId: 'c',
    request: { apiKey: 1, apiVersion: 1, encode: async () => ({}) },
  };
  await assert.rejects(frame(bad), /instance of Encoder/);
  await assert.rejects(kafkajsFrame(bad), /instance of Encoder/);
});
