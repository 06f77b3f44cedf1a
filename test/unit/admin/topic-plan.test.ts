import assert from 'node:assert/strict';
import test from 'node:test';
import { planTopics } from '../../../src/admin/topic-plan.js';
import type { TopicState } from '../../../src/admin/topic-plan.js';
import { loadTopicSpecs } from '../../../src/admin/topic-spec.js';
import { StreamscoreError } from '../../../src/errors/index.js';

const spec = { name: 't', partitions: 6, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } };
const state = (s: Partial<TopicState>): Map<string, TopicState> =>
  new Map([
    [
      't',
      { partitions: 6, replicationFactor: 1, config: { 'cleanup.policy': 'compact' }, empty: false, ...s },
    ],
  ]);

test('in sync: no actions', () => {
  assert.deepEqual(planTopics([spec], state({})), []);
});

test('missing topic is created; more partitions are added; config drift is altered', () => {
  assert.equal(planTopics([spec], new Map())[0]?.kind, 'create');
  assert.deepEqual(planTopics([spec], state({ partitions: 3 })), [
    { kind: 'add-partitions', topic: 't', from: 3, to: 6 },
  ]);
  const [a] = planTopics([{ ...spec, config: { ...spec.config, 'retention.ms': '1000' } }], state({}));
  assert.equal(a?.kind, 'alter-config');
});

test('fewer partitions and a cleanup.policy change of a non-empty topic are dangerous', () => {
  const [shrink] = planTopics([{ ...spec, partitions: 3 }], state({}));
  assert.equal(shrink?.kind, 'dangerous');
  const [policy] = planTopics([{ ...spec, config: { 'cleanup.policy': 'delete' } }], state({}));
  assert.equal(policy?.kind, 'dangerous');
  // on an empty topic, changing the policy loses nothing
  const [emptyPolicy] = planTopics(
    [{ ...spec, config: { 'cleanup.policy': 'delete' } }],
    state({ empty: true }),
  );
  assert.equal(emptyPolicy?.kind, 'alter-config');
});

test('the shipped topic files are valid, and audit keeps 7 years', () => {
  const families = loadTopicSpecs('topics');
  const names = families.flatMap((f) => f.topics.map((t) => t.name));
  for (const expected of [
    'cdc.bank.customers',
    'transactions',
    'predictions',
    'audit',
    'dlq',
    'streamscore.control',
  ]) {
    assert.ok(names.includes(expected), expected);
  }
  const audit = families.flatMap((f) => f.topics).find((t) => t.name === 'audit');
  assert.ok(Number(audit?.config['retention.ms']) >= 7 * 365 * 24 * 3600 * 1000);
  assert.ok(loadTopicSpecs('topics', 'x-').every((f) => f.topics.every((t) => t.name.startsWith('x-'))));
});

test('an invalid topic file is rejected with its path', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/topics-`);
  writeFileSync(
    `${dir}/bad.yaml`,
    'family: x\ntopics:\n  - name: "a b"\n    partitions: 0\n    replicationFactor: 1\n',
  );
  assert.throws(
    () => loadTopicSpecs(dir),
    (err: unknown) =>
      err instanceof StreamscoreError &&
      err.code === 'SS_TOPIC_SPEC_INVALID' &&
      err.message.includes('bad.yaml'),
  );
});
