import assert from 'node:assert/strict';
import test from 'node:test';
import { FenceLayout, SLOT_COUNT, slotOf, slotTags } from '../../../src/sink/index.js';

test('slotOf agrees with the Redis Cluster spec (CRC16/XMODEM mod 16384, hash tags)', () => {
  // the spec's CRC16 check value: CRC16("123456789") = 0x31C3; the others as CLUSTER KEYSLOT answers
  assert.equal(slotOf('123456789'), 0x31c3);
  assert.equal(slotOf('foo'), 12182);
  assert.equal(slotOf('somekey'), 11058);
  assert.equal(slotOf('{user1000}.following'), slotOf('{user1000}.followers'));
  assert.equal(slotOf('a{foo}b'), 12182);
  // an empty tag does not count: the whole key is hashed
  assert.notEqual(slotOf('{}foo'), slotOf('{}bar'));
});

test('every slot has a tag, and each tag lands in its slot', () => {
  const tags = slotTags();
  assert.equal(tags.length, SLOT_COUNT);
  assert.equal(new Set(tags).size, SLOT_COUNT);
  tags.forEach((t, s) => assert.equal(slotOf(`ss:churn:epoch{${t}}`), s, `slot ${s}`));
});

test('fence keys: the fence itself on a single Redis, its copy in the same slot on a cluster', () => {
  const single = new FenceLayout(false);
  const cluster = new FenceLayout(true);
  const entity = 'ss:{churn:C-42}:s';
  assert.equal(single.at('ss:churn:epoch', entity), 'ss:churn:epoch');
  const copy = cluster.at('ss:churn:epoch', entity);
  assert.equal(slotOf(copy), slotOf(entity));
  assert.ok(copy.startsWith('ss:churn:epoch{'));
  assert.deepEqual(single.keysOf('f'), ['f']);
  assert.equal(cluster.keysOf('f').length, SLOT_COUNT);
});

test('groups: in order and at most size on a single Redis; one slot per group on a cluster', () => {
  const keys = Array.from({ length: 250 }, (_, i) => `ss:{churn:C-${i}}:s`);
  const single = new FenceLayout(false).groups(keys, 100);
  assert.deepEqual(
    single.map((g) => g.length),
    [100, 100, 50],
  );
  assert.deepEqual(
    single.flat(),
    keys.map((_, i) => i),
  );
  const same = Array.from({ length: 230 }, (_, i) => `ss:{churn:C-7}:x${i}`);
  const clustered = new FenceLayout(true).groups([...keys, ...same], 100);
  const seen = clustered.flat().sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    Array.from({ length: 480 }, (_, i) => i),
  );
  const all = [...keys, ...same];
  for (const g of clustered) {
    assert.ok(g.length <= 100);
    assert.equal(new Set(g.map((i) => slotOf(all[i] as string))).size, 1);
    assert.deepEqual(
      [...g],
      [...g].sort((a, b) => a - b),
      'in order within a slot',
    );
  }
});
