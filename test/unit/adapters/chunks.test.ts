import assert from 'node:assert/strict';
import test from 'node:test';
import { chunksOf } from '../../../src/adapters/kafka-io.js';

test('output messages are sent in chunks that stay under the broker message size, in order', () => {
  const messages = Array.from({ length: 5000 }, (_, i) => ({ key: String(i), value: Buffer.alloc(400) }));
  const chunks = chunksOf(messages, 512 * 1024);
  assert.ok(chunks.length > 1);
  for (const c of chunks) assert.ok(c.reduce((n, m) => n + (m.value?.length ?? 0), 0) <= 512 * 1024);
  assert.deepEqual(chunks.flat(), messages);
  const big = [
    { key: 'a', value: Buffer.alloc(600 * 1024) },
    { key: 'b', value: Buffer.alloc(10) },
  ];
  assert.deepEqual(
    chunksOf(big, 512 * 1024).map((c) => c.length),
    [1, 1],
  );
});
