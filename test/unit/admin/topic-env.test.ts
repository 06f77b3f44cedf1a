import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { applyOverlay, loadOverlay, NO_REQUIREMENT } from '../../../src/admin/topic-env.js';
import type { TopicOverlay } from '../../../src/admin/topic-env.js';
import { checkDurability } from '../../../src/admin/topic-safety.js';
import type { BrokerFacts } from '../../../src/admin/topic-safety.js';
import { loadTopicSpecs } from '../../../src/admin/topic-spec.js';
import type { TopicFamily, TopicSpec } from '../../../src/admin/topic-spec.js';
import { StreamscoreError } from '../../../src/errors/index.js';

const families: TopicFamily[] = [
  {
    family: 'inputs-events',
    file: 'x.yaml',
    topics: [
      { name: 'p.transactions', partitions: 6, replicationFactor: 1, config: { 'min.insync.replicas': '1' } },
    ],
  },
  {
    family: 'audit',
    file: 'y.yaml',
    topics: [
      {
        name: 'p.audit',
        partitions: 3,
        replicationFactor: 1,
        config: { 'min.insync.replicas': '1', 'retention.ms': '5' },
      },
    ],
  },
];
const overlay = (o: Partial<TopicOverlay>): TopicOverlay => ({
  environment: 'prod',
  require: NO_REQUIREMENT,
  ...o,
});

test('an overlay applies defaults, then the family, then the topic; a null config removes the key', () => {
  const out = applyOverlay(
    families,
    overlay({
      defaults: { replicationFactor: 3, config: { 'min.insync.replicas': '2' } },
      families: { 'inputs-events': { partitions: 12, replicationFactor: 4 } },
      topics: { audit: { config: { 'retention.ms': null, 'min.insync.replicas': '3' } } },
    }),
    'p.',
  );
  assert.deepEqual(out[0]?.topics[0], {
    name: 'p.transactions',
    partitions: 12,
    replicationFactor: 4,
    config: { 'min.insync.replicas': '2' },
  });
  assert.deepEqual(out[1]?.topics[0], {
    name: 'p.audit',
    partitions: 3,
    replicationFactor: 3,
    config: { 'min.insync.replicas': '3' },
  });
  // the input is not changed
  assert.equal(families[0]?.topics[0]?.replicationFactor, 1);
});

test('an overlay naming a family or topic no file declares is refused (a typo would leave production on local numbers)', () => {
  assert.throws(
    () => applyOverlay(families, overlay({ families: { 'input-events': { partitions: 2 } } })),
    (e: unknown) => e instanceof StreamscoreError && /families\.input-events/.test(e.message),
  );
  assert.throws(
    () => applyOverlay(families, overlay({ topics: { transaction: { partitions: 2 } } }), 'p.'),
    /topics\.transaction/,
  );
});

test('loadOverlay: a missing or malformed file names the file, the field and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ss-env-'));
  mkdirSync(join(dir, 'env'));
  assert.throws(() => loadOverlay(dir, 'staging'), /no overlay .*staging\.yaml; create it/);
  assert.throws(() => loadOverlay(dir, '../etc'), /letters, digits/);
  writeFileSync(join(dir, 'env', 'bad.yaml'), 'environment: bad\ndefaults:\n  replicationFactr: 3\n');
  assert.throws(() => loadOverlay(dir, 'bad'), /bad\.yaml is invalid[\s\S]*replicationFactr/);
  writeFileSync(join(dir, 'env', 'other.yaml'), 'environment: prod\n');
  assert.throws(() => loadOverlay(dir, 'other'), /named for "other"/);
});

test('the shipped production overlay applies to the shipped topic files and passes the durability check on a 3-broker cluster', () => {
  const specs = applyOverlay(loadTopicSpecs('topics'), loadOverlay('topics', 'production')).flatMap(
    (f) => f.topics,
  );
  const prod = loadOverlay('topics', 'production');
  assert.ok(specs.every((s) => s.replicationFactor === 3 && s.config['min.insync.replicas'] === '2'));
  const broker: BrokerFacts = {
    brokers: 3,
    config: {
      'min.insync.replicas': '1',
      'unclean.leader.election.enable': 'false',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'offsets.topic.replication.factor': '3',
    },
  };
  assert.deepEqual(checkDurability(specs, prod.require, broker), []);
  // the same specs on the local single broker: every topic refused, and the cluster too
  const local = checkDurability(specs, prod.require, { ...broker, brokers: 1 });
  assert.ok(local.some((f) => f.subject === '(cluster)' && /at least 3 brokers/.test(f.reason)));
  assert.ok(local.some((f) => /needs 3 brokers; the cluster has 1/.test(f.reason)));
  // the local files as they are pass on the local broker
  const localSpecs = loadTopicSpecs('topics').flatMap((f) => f.topics);
  assert.deepEqual(checkDurability(localSpecs, NO_REQUIREMENT, { ...broker, brokers: 1 }), []);
});

const t = (rf: number, config: Record<string, string> = {}): TopicSpec => ({
  name: 'out',
  partitions: 3,
  replicationFactor: rf,
  config,
});
const reasons = (specs: TopicSpec[], broker: BrokerFacts | null = null, req = NO_REQUIREMENT) =>
  checkDurability(specs, req, broker).map((f) => `${f.level}: ${f.reason}`);

test('durability: min.insync.replicas above the replication factor is refused (no acks=all write could succeed)', () => {
  assert.match(
    reasons([t(1, { 'min.insync.replicas': '2' })]).join('\n'),
    /^refuse: min.insync.replicas 2 exceeds/,
  );
  // the broker default counts when the topic sets none
  assert.match(
    reasons([t(1)], { brokers: 1, config: { 'min.insync.replicas': '2' } }).join('\n'),
    /refuse: min.insync.replicas 2 \(the broker default\) exceeds/,
  );
});

test('durability: several replicas with min.insync.replicas 1 are refused (acks=all met by the leader alone)', () => {
  assert.match(reasons([t(3)]).join('\n'), /^refuse: 3 replicas but min.insync.replicas 1/);
  assert.match(reasons([t(2, { 'min.insync.replicas': '1' })]).join('\n'), /^refuse: 2 replicas/);
  assert.deepEqual(reasons([t(3, { 'min.insync.replicas': '2' })]), []);
  assert.deepEqual(reasons([t(1, { 'min.insync.replicas': '1' })]), []);
});

test('durability: min.insync.replicas equal to the replication factor is a warning, not a refusal', () => {
  assert.match(
    reasons([t(3, { 'min.insync.replicas': '3' })]).join('\n'),
    /^warn: .*any one replica down stops/,
  );
  assert.match(reasons([t(2, { 'min.insync.replicas': '2' })]).join('\n'), /^warn: /);
});

test('durability: unclean leader election (topic or broker default) is refused', () => {
  assert.match(
    reasons([t(3, { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'true' })]).join('\n'),
    /^refuse: unclean.leader.election.enable is true: /,
  );
  assert.match(
    reasons([t(3, { 'min.insync.replicas': '2' })], {
      brokers: 3,
      config: { 'unclean.leader.election.enable': 'true' },
    }).join('\n'),
    /true \(the broker default\)/,
  );
  // a topic may turn it off against a broker default of true
  assert.deepEqual(
    reasons([t(3, { 'min.insync.replicas': '2', 'unclean.leader.election.enable': 'false' })], {
      brokers: 3,
      config: { 'unclean.leader.election.enable': 'true' },
    }),
    [],
  );
});

test('durability: a transaction log or offsets topic less replicated than the data is refused', () => {
  const out = reasons([t(3, { 'min.insync.replicas': '2' })], {
    brokers: 3,
    config: {
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'offsets.topic.replication.factor': '1',
    },
  });
  assert.equal(out.length, 3);
  assert.ok(out.every((r) => r.startsWith('refuse: broker ')));
  // with single-replica data the internal topics' replication is no weaker than the outputs'
  assert.deepEqual(
    reasons([t(1)], { brokers: 1, config: { 'transaction.state.log.replication.factor': '1' } }),
    [],
  );
});

test('durability: the environment requirement refuses fewer replicas or brokers than it names', () => {
  const req = { minReplicationFactor: 3, minBrokers: 3 };
  assert.match(reasons([t(1)], null, req).join('\n'), /below the 3 this environment requires/);
  assert.match(
    reasons([t(3, { 'min.insync.replicas': '2' })], { brokers: 2, config: {} }, req).join('\n'),
    /at least 3 brokers/,
  );
});
