import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import {
  COORDINATOR_TTL_MS,
  TRANSACTION_COORDINATOR,
  cachedTransactionCoordinator,
} from '../../../src/adapters/kafkajs-coordinator.js';
import type { CoordinatorQuery } from '../../../src/adapters/kafkajs-coordinator.js';

interface Broker {
  id: number;
  connected: boolean;
  isConnected(): boolean;
}

function setup() {
  let clock = 1_000_000;
  const lookups: Array<{ cluster: object; query: CoordinatorQuery }> = [];
  let nextId = 0;
  const original = async function (this: object, query: CoordinatorQuery): Promise<Broker> {
    lookups.push({ cluster: this, query });
    const broker: Broker = {
      id: ++nextId,
      connected: true,
      isConnected() {
        return this.connected;
      },
    };
    return broker;
  };
  const find = cachedTransactionCoordinator(original, () => clock);
  return { find, lookups, advance: (ms: number) => (clock += ms) };
}

const tx = (groupId: string): CoordinatorQuery => ({ groupId, coordinatorType: TRANSACTION_COORDINATOR });

test('a transaction coordinator is looked up once per cluster and transactional id while its TTL runs and it is connected', async () => {
  const { find, lookups, advance } = setup();
  const a = {};
  const b = {};
  const first = await find.call(a, tx('t1'));
  assert.equal(await find.call(a, tx('t1')), first);
  advance(COORDINATOR_TTL_MS - 1);
  assert.equal(await find.call(a, tx('t1')), first, 'within the TTL');
  assert.equal(lookups.length, 1);
  assert.notEqual(await find.call(a, tx('t2')), first, 'another transactional id is its own lookup');
  assert.notEqual(await find.call(b, tx('t1')), first, 'another cluster (producer) is its own');
  assert.equal(lookups.length, 3);
  assert.equal(lookups[2]?.cluster, b);
});

test('a transaction coordinator is looked up again after the TTL, and at once when its connection dropped', async () => {
  const { find, lookups, advance } = setup();
  const c = {};
  const first = await find.call(c, tx('t'));
  advance(COORDINATOR_TTL_MS);
  const second = await find.call(c, tx('t'));
  assert.notEqual(second, first, 'the TTL ran out');
  second.connected = false;
  const third = await find.call(c, tx('t'));
  assert.notEqual(third, second, 'a disconnected coordinator is not reused');
  assert.equal(await find.call(c, tx('t')), third);
  assert.equal(lookups.length, 3);
});

test('group coordinators are looked up every time, as kafkajs does', async () => {
  const { find, lookups } = setup();
  const c = {};
  await find.call(c, { groupId: 'g', coordinatorType: 0 });
  await find.call(c, { groupId: 'g', coordinatorType: 0 });
  await find.call(c, { groupId: 'g' });
  assert.equal(lookups.length, 3);
});

test("kafkajs-fix installs it on kafkajs's Cluster", async () => {
  await import('../../../src/adapters/kafkajs-fix.js');
  const Cluster = createRequire(import.meta.url)('kafkajs/src/cluster/index.js') as {
    prototype: { findGroupCoordinator: { name: string } };
  };
  assert.equal(Cluster.prototype.findGroupCoordinator.name, 'findGroupCoordinator');
  assert.match(String(Cluster.prototype.findGroupCoordinator), /TRANSACTION_COORDINATOR/);
});
