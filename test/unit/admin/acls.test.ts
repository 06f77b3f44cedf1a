import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { aclCommands, pipelineAcls, redisAclRules } from '../../../src/admin/acls.js';
import { parseConfig } from '../../../src/config/index.js';

test('pipeline ACLs: read inputs, write outputs, its group and the "<group>." prefix, its transactional ids; nothing else', () => {
  const config = parseConfig({ consumer: { groupId: 'g1' } }, {});
  const acls = pipelineAcls(config);
  const text = acls.map((e) => `${e.resource} ${e.pattern} ${e.name} ${e.operation}`);
  assert.deepEqual(text.sort(), [
    'GROUP LITERAL g1 READ',
    'GROUP PREFIXED g1. DELETE',
    'GROUP PREFIXED g1. READ',
    'TOPIC LITERAL audit DESCRIBE_CONFIGS',
    'TOPIC LITERAL audit WRITE',
    'TOPIC LITERAL cdc.bank.customers DESCRIBE_CONFIGS',
    'TOPIC LITERAL cdc.bank.customers READ',
    'TOPIC LITERAL dlq DESCRIBE_CONFIGS',
    'TOPIC LITERAL dlq WRITE',
    'TOPIC LITERAL predictions DESCRIBE_CONFIGS',
    'TOPIC LITERAL predictions WRITE',
    'TOPIC LITERAL quarantine DESCRIBE_CONFIGS',
    'TOPIC LITERAL quarantine WRITE',
    'TOPIC LITERAL transactions DESCRIBE_CONFIGS',
    'TOPIC LITERAL transactions READ',
    'TRANSACTIONAL_ID PREFIXED g1. WRITE',
  ]);
  // following an alias adds the control topic; a challenger adds the shadow topic
  const more = pipelineAcls(parseConfig({ model: { alias: 'champion', challenger: '3' } }, {}));
  assert.ok(more.some((e) => e.name === config.control.topic && e.operation === 'READ'));
  assert.ok(more.some((e) => e.name === config.outputs.shadow && e.operation === 'WRITE'));
});

test('as kafka-acls.sh commands: one per resource, operations together, prefixed patterns marked', () => {
  const config = parseConfig({ consumer: { groupId: 'g1' } }, {});
  const cmds = aclCommands(pipelineAcls(config), 'User:svc', 'b:9093')
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.startsWith('kafka-acls.sh'));
  assert.equal(cmds.length, 9);
  assert.ok(
    cmds.includes(
      "kafka-acls.sh --bootstrap-server b:9093 --command-config admin.properties --add --allow-principal 'User:svc' --operation Write --transactional-id 'g1.' --resource-pattern-type prefixed",
    ),
    cmds.join('\n'),
  );
  assert.ok(
    cmds.some((c) =>
      /--operation Read --operation Delete --group 'g1\.' --resource-pattern-type prefixed$/.test(c),
    ),
  );
});

test('docs/security.md lists exactly what `streamscore acls` prints for the default config', () => {
  const doc = readFileSync('docs/security.md', 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const printed = aclCommands(pipelineAcls(parseConfig({}, {})), 'User:streamscore', '127.0.0.1:9092').join(
    '\n',
  );
  assert.equal(block.trim(), printed.trim());
});

test('Redis ACL rules: the pipeline user gets its scripts and the commands they call on its prefix; the lookup user reads only', () => {
  const rules = redisAclRules(parseConfig({ redis: { keyPrefix: 'p*1:' } }, {}));
  assert.match(rules.pipeline, /^resetkeys ~p\\\*1:\* resetchannels -@all /);
  for (const c of ['+evalsha', '+eval', '+hset', '+time', '+scan', '+client|setname'])
    assert.ok(rules.pipeline.split(' ').includes(c), c);
  assert.ok(!/\+del\b|\+flushall|\+config|@all\b(?<!-@all)/.test(rules.pipeline.replace('-@all', '')));
  assert.match(rules.lookup, /^resetkeys %R~p\\\*1:\* resetchannels -@all \+hgetall /);
  assert.ok(!/\+eval|\+hset|\+set\b/.test(rules.lookup));
});

test('Redis ACL rules on a cluster: the slot map and ASKING for both users, DEL (an epoch a node lost) for the pipeline only', () => {
  const rules = redisAclRules(parseConfig({ redis: { keyPrefix: 'p1:', cluster: true } }, {}));
  for (const c of ['+cluster|slots', '+asking', '+del']) assert.ok(rules.pipeline.split(' ').includes(c), c);
  for (const c of ['+cluster|slots', '+asking']) assert.ok(rules.lookup.split(' ').includes(c), c);
  assert.ok(!/\+del\b|\+eval|\+hset/.test(rules.lookup));
});
