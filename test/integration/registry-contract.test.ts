import assert from 'node:assert/strict';
import test from 'node:test';
import registryLib from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { createRegistryClient } from '../../src/adapters/registry.js';
import { checkSchemas, loadSchemaManifest, registerSchemas } from '../../src/admin/schemas.js';
import { parseConfig } from '../../src/config/index.js';
import { StreamscoreError } from '../../src/errors/index.js';
import { ensureServices, serviceEnv, uniqueId } from '../helpers/services.js';

const url = parseConfig({}, serviceEnv()).registry.url;

test('@kafkajs/confluent-schema-registry and the registry agree end to end: register, encode, decode, latest id, wire format', async () => {
  ensureServices();
  const lib = new registryLib.SchemaRegistry({ host: url });
  const ours = createRegistryClient({ url });
  const subject = `${uniqueId('contract')}-value`;
  const v1 = {
    type: 'record',
    name: 'Thing',
    namespace: 'it',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'name', type: 'string' },
    ],
  };
  const id = await ours.register(subject, JSON.stringify(v1), 'BACKWARD');
  assert.ok(Number.isInteger(id) && id > 0);
  assert.equal(await lib.getLatestSchemaId(subject), id);
  // registering the identical schema again gives the same id (idempotent start-up)
  assert.equal(await ours.register(subject, JSON.stringify(v1), 'BACKWARD'), id);

  const value = { id: 42, name: 'Ada' };
  const encoded = await lib.encode(id, value);
  assert.equal(encoded.readUInt8(0), 0, 'magic byte 0');
  assert.equal(encoded.readUInt32BE(1), id, '4-byte big-endian schema id');
  assert.deepEqual(
    encoded.subarray(5),
    avro.Type.forSchema(v1 as avro.Schema).toBuffer(value),
    'plain Avro binary body',
  );
  assert.deepEqual({ ...(await lib.decode(encoded)) }, value);
  assert.deepEqual(await ours.avroSchema(id), v1);

  // a BACKWARD-compatible evolution gets a new id that decodes old and new data
  const v2 = { ...v1, fields: [...v1.fields, { name: 'tier', type: ['null', 'string'], default: null }] };
  assert.equal((await ours.checkCompatibility(subject, JSON.stringify(v2))).compatible, true);
  const id2 = await ours.register(subject, JSON.stringify(v2), 'BACKWARD');
  assert.notEqual(id2, id);
  assert.equal(await lib.getLatestSchemaId(subject), id2);
  assert.deepEqual(
    { ...(await lib.decode(await lib.encode(id2, { ...value, tier: 'gold' }))) },
    { ...value, tier: 'gold' },
  );
  assert.deepEqual({ ...(await lib.decode(encoded)) }, value);

  // an incompatible change (new field without default) is detected and refused
  const bad = { ...v1, fields: [...v1.fields, { name: 'required', type: 'string' }] };
  const check = await ours.checkCompatibility(subject, JSON.stringify(bad));
  assert.equal(check.subjectExists, true);
  assert.equal(check.compatible, false);
  await assert.rejects(
    ours.register(subject, JSON.stringify(bad), 'BACKWARD'),
    (err: unknown) => err instanceof StreamscoreError,
  );
});

test('schemas/ manifest registers under TopicNameStrategy subjects and checks clean against itself', async () => {
  ensureServices();
  const registry = createRegistryClient({ url });
  const prefix = `${uniqueId('schemas')}.`;
  const entries = loadSchemaManifest('schemas/schemas.yaml', prefix);
  const subjects = entries.map((e) => e.subject);
  for (const s of [
    `${prefix}predictions-value`,
    `${prefix}audit-value`,
    `${prefix}transactions-value`,
    `${prefix}cdc.bank.customers-value`,
  ]) {
    assert.ok(subjects.includes(s), s);
  }
  assert.ok((await checkSchemas(registry, entries)).every((c) => c.status === 'new-subject'));
  await registerSchemas(registry, entries);
  assert.ok((await checkSchemas(registry, entries)).every((c) => c.status === 'compatible'));
});
