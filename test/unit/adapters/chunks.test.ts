import assert from 'node:assert/strict';
import test from 'node:test';
import { chunksOf } from '../../../src/adapters/kafka-io.js';
import { pipelineChunks } from '../../../src/adapters/redis.js';

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

test('a window of Redis script calls goes in pipelines of bounded size, every call once and in order', () => {
  const script = { name: 'commit', lua: '' };
  const calls = Array.from({ length: 300 }, (_, i) => ({
    script,
    keys: [`k${i}`],
    args: ['x'.repeat(1000 + i)],
  }));
  const all = calls.map((_, i) => i);
  const chunks = pipelineChunks(calls, all, 64 * 1024);
  assert.ok(chunks.length > 1, 'split');
  assert.deepEqual(chunks.flat(), all);
  for (const c of chunks) {
    const bytes = c.reduce((n, i) => n + calls[i]!.keys[0]!.length + calls[i]!.args[0]!.length, 0);
    assert.ok(bytes <= 64 * 1024, `pipeline of ${bytes} bytes`);
  }
  // a subset (one cluster node's calls) keeps its own order; a call larger than the bound runs alone
  assert.deepEqual(pipelineChunks(calls, [5, 2, 9], 1024), [[5], [2], [9]]);
  assert.deepEqual(pipelineChunks(calls, [], 1024), []);
});
