import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import {
  DLQ_REASONS,
  ERROR_CODES,
  RecordRejected,
  StreamscoreError,
  isProgrammingError,
} from '../../../src/errors/index.js';

test('every error code is documented in docs/errors.md, and every documented code exists', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(SS_[A-Z_]+)`\s+\|/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});

test('the dead-letter reasons are a closed list: docs/errors.md names exactly the codes a rejected record can carry', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Dead-letter reasons'), doc.indexOf('## Codes'));
  const listed = new Set([...section.matchAll(/`(SS_[A-Z_]+)`/g)].map((m) => m[1]));
  assert.deepEqual([...listed].sort(), [...DLQ_REASONS].sort());
  const rows = [...doc.matchAll(/^\| `(SS_[A-Z_]+)`\s+\|\s*record → DLQ/gm)].map((m) => m[1]);
  assert.deepEqual(rows.sort(), [...DLQ_REASONS].sort());
});

test('error codes are unique and SS_-prefixed', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  for (const c of ERROR_CODES) assert.match(c, /^SS_[A-Z_]+$/);
});

test('a rejected record is never retriable; programming errors are recognised', () => {
  const r = new RecordRejected('SS_DECODE_FAILED', 'bad bytes', {
    position: { topic: 't', partition: 1, offset: '7' },
  });
  assert.equal(r.retriable, false);
  assert.ok(r instanceof StreamscoreError);
  assert.equal(r.position?.offset, '7');
  assert.ok(isProgrammingError(new TypeError('x')));
  assert.ok(!isProgrammingError(r));
});
