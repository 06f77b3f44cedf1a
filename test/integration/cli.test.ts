/**
 * The CLI as a user meets it: exit codes and messages of topics and schemas commands against the real
 * cluster and registry, and usage errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { connectTopicAdmin, createKafkaClient } from '../../src/adapters/kafka.js';
import { loadTopicSpecs } from '../../src/admin/topic-spec.js';
import { parseConfig } from '../../src/config/index.js';
import { ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/streamscore.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...serviceEnv() },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('usage errors exit 2 and name the problem; --help exits 0', () => {
  const unknown = cli(['topics', 'plan', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /Unknown option '--bogus'/);
  assert.equal(cli(['frobnicate']).code, 2);
  const missing = cli(['lookup']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /expected 1 argument/);
  const help = cli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--config/);
  const badConfig = cli(['lookup', '1', '--config', '/nonexistent.yaml']);
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.err, /SS_CONFIG_FILE/);
});

test('topics plan reports pending changes (exit 1), apply makes them, plan is then clean (exit 0)', (t) => {
  ensureServices();
  const prefix = `${uniqueId('cli')}.`;
  t.after(async () => {
    const admin = await connectTopicAdmin(createKafkaClient(parseConfig({}, serviceEnv()).kafka));
    for (const f of loadTopicSpecs('topics', prefix))
      for (const topic of f.topics) await admin.delete(topic.name).catch(() => undefined);
    await admin.close();
  });
  const before = cli(['topics', 'plan', '--prefix', prefix]);
  assert.equal(before.code, 1, before.err);
  assert.match(before.out, new RegExp(`\\+ create ${prefix.replace(/\./g, '\\.')}predictions`));
  const apply = cli(['topics', 'apply', '--prefix', prefix]);
  assert.equal(apply.code, 0, apply.err);
  // progress: one numbered line per change on stderr, as it starts
  const steps = [...apply.err.matchAll(/^\[(\d+)\/(\d+)\] \+ create /gm)];
  assert.ok(steps.length >= 3, apply.err);
  assert.deepEqual(
    steps.map((m) => Number(m[1])),
    steps.map((_, i) => i + 1),
  );
  const after = cli(['topics', 'plan', '--prefix', prefix]);
  assert.equal(after.code, 0, after.err);
  assert.match(after.out, /in sync/);
});

test('topics --env: the production overlay is refused on the single local broker (plan names every unsafe spec, apply changes nothing); --env local applies', (t) => {
  ensureServices();
  const prefix = `${uniqueId('env')}.`;
  const names = loadTopicSpecs('topics', prefix).flatMap((f) => f.topics.map((x) => x.name));
  t.after(async () => {
    const admin = await connectTopicAdmin(createKafkaClient(parseConfig({}, serviceEnv()).kafka));
    for (const name of names) await admin.delete(name).catch(() => undefined);
    await admin.close();
  });
  const plan = cli(['topics', 'plan', '--env', 'production', '--prefix', prefix]);
  assert.equal(plan.code, 1, plan.err);
  assert.match(
    plan.out,
    /! unsafe \(cluster\): this environment requires at least 3 brokers .*the cluster has 1/,
  );
  for (const name of names)
    assert.match(
      plan.out,
      new RegExp(`! unsafe ${name.replace(/\./g, '\\.')}: replication factor 3 needs 3 brokers`),
    );
  assert.match(plan.out, /\+ create .*partitions=12, rf=3, .*min.insync.replicas=2/);
  const apply = cli(['topics', 'apply', '--env', 'production', '--prefix', prefix]);
  assert.equal(apply.code, 1);
  assert.match(apply.err, /SS_TOPIC_UNSAFE/);
  assert.match(apply.err, /nothing was changed/);
  // nothing was created
  assert.match(
    cli(['topics', 'plan', '--prefix', prefix]).out,
    new RegExp(`\\+ create ${prefix.replace(/\./g, '\\.')}audit`),
  );
  // an overlay that does not exist, or names an unknown environment, is a usage error naming the file
  const missing = cli(['topics', 'plan', '--env', 'staging', '--prefix', prefix]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /no overlay topics\/env\/staging\.yaml; create it/);
  // the local overlay: the numbers of the topic files, checked against the broker's own settings
  const local = cli(['topics', 'apply', '--env', 'local', '--prefix', prefix]);
  assert.equal(local.code, 0, local.err);
  const again = cli(['topics', 'plan', '--env', 'local', '--prefix', prefix]);
  assert.equal(again.code, 0, again.out + again.err);
  assert.doesNotMatch(again.out, /unsafe/);
});

test('schemas check exits non-zero on an incompatible change; register refuses it', () => {
  ensureServices();
  const prefix = `${uniqueId('cli-schemas')}.`;
  const ok = cli(['schemas', 'register', '--prefix', prefix]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(cli(['schemas', 'check', '--prefix', prefix]).code, 0);

  // a copy of the manifest whose predictions schema gains a required field (no default): not BACKWARD
  const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
  const schema = JSON.parse(readFileSync('schemas/predictions-value.avsc', 'utf8')) as { fields: unknown[] };
  schema.fields.push({ name: 'new_required', type: 'string' });
  writeFileSync(join(dir, 'predictions-value.avsc'), JSON.stringify(schema));
  writeFileSync(
    join(dir, 'schemas.yaml'),
    'subjects:\n  - { file: predictions-value.avsc, subject: predictions-value, compatibility: BACKWARD }\n',
  );
  const check = cli(['schemas', 'check', '--prefix', prefix, '--manifest', join(dir, 'schemas.yaml')]);
  assert.equal(check.code, 1, check.out + check.err);
  assert.match(check.out, /incompatible/);
  const register = cli(['schemas', 'register', '--prefix', prefix, '--manifest', join(dir, 'schemas.yaml')]);
  assert.equal(register.code, 1);
  assert.match(register.err, /SS_SCHEMA_INCOMPATIBLE/);
});
