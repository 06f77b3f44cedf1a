import assert from 'node:assert/strict';
import test from 'node:test';
import { parseFrom } from '../../../src/cli/commands/replay.js';

test('replay --from: a time, or topic/partition@offset entries; anything else is refused naming the form', () => {
  assert.deepEqual(parseFrom('2026-11-01T00:00:00Z'), { ms: Date.UTC(2026, 10, 1) });
  const { offsets } = parseFrom('transactions/0@1200, cdc.bank.customers/11@7') as {
    offsets: Map<string, bigint>;
  };
  assert.deepEqual(
    [...offsets],
    [
      ['transactions/0', 1200n],
      ['cdc.bank.customers/11', 7n],
    ],
  );
  assert.throws(() => parseFrom('transactions@12'), /topic\/partition@offset/);
  assert.throws(() => parseFrom('last tuesday'), /ISO-8601 time or topic\/partition@offset/);
});
