import assert from 'node:assert/strict';
import test from 'node:test';
import { writerSchemaOf } from '../../../src/adapters/registry.js';
import type { StreamscoreError } from '../../../src/errors/index.js';
import { RejectionGate } from '../../../src/validate/index.js';

test('the gate trips on one bad window of enough records, and on a slow trickle of garbage over the rolling horizon', () => {
  const gate = new RejectionGate({ ratio: 0.5, minRecords: 100, rollingRecords: 1000 });
  assert.equal(gate.assess('t/0', 99, 99), null, 'a small window alone is too noisy to judge');
  assert.deepEqual(gate.assess('t/0', 100, 51), { scope: 'window', rejected: 51, records: 100 });
  assert.equal(gate.assess('t/0', 100, 50), null);
  // windows of 5 records, all garbage: nothing trips until the horizon holds 100 records
  let tripped = -1;
  for (let i = 0; i < 40 && tripped < 0; i++) {
    if (gate.assess('t/1', 5, 5) !== null) tripped = i;
    else gate.committed('t/1', 5, 5);
  }
  assert.equal(tripped, 19, 'the 20th window makes 100 records, all rejected');
  // good records dilute it; the horizon forgets windows beyond its last 1000 records
  const g2 = new RejectionGate({ ratio: 0.5, minRecords: 100, rollingRecords: 1000 });
  g2.committed('t/0', 600, 400);
  assert.deepEqual(g2.assess('t/0', 10, 10), { scope: 'rolling', rejected: 410, records: 610 });
  g2.committed('t/0', 1000, 0);
  assert.equal(g2.assess('t/0', 10, 10), null, 'the bad 600 left the horizon');
  g2.forget('t/0');
  assert.equal(g2.assess('t/0', 10, 10), null);
});

test('registry answers: only "no such id" and non-Avro schemas are about the record; the rest is retried', () => {
  const codeOf = (status: number, body: unknown) => {
    try {
      writerSchemaOf(7, status, body);
      return 'ok';
    } catch (err) {
      const e = err as StreamscoreError;
      return `${e.code}${e.retriable ? ' retriable' : ''}`;
    }
  };
  assert.equal(codeOf(200, { schema: '"string"' }), 'ok');
  assert.equal(codeOf(404, { error_code: 40403, message: 'not found' }), 'SS_UNKNOWN_SCHEMA');
  assert.equal(codeOf(200, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }), 'SS_UNKNOWN_SCHEMA');
  for (const status of [401, 403, 429, 500, 502, 503])
    assert.equal(codeOf(status, { message: 'x' }), 'SS_REGISTRY retriable');
  assert.equal(
    codeOf(404, '<html>not here</html>'),
    'SS_REGISTRY retriable',
    'a wrong URL is not an unknown id',
  );
  assert.equal(codeOf(200, '<html>proxy login</html>'), 'SS_REGISTRY retriable');
  assert.equal(codeOf(200, { id: 7 }), 'SS_REGISTRY retriable');
});
