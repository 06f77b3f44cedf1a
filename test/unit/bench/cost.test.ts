import assert from 'node:assert/strict';
import test from 'node:test';
import { compareBuilds, median, perRecordCpu, roundOrder, summarise } from '../../../bench/cost.js';
import type { DrainMetrics } from '../../../bench/cost.js';
import type { RedisCost } from '../../../bench/redis-info.js';

const redis: RedisCost = {
  cpuSeconds: 4,
  mainThreadCpuSeconds: 3.5,
  scriptUsec: 3_000_000,
  scriptCalls: 100,
  dataUsec: 1_000_000,
  dataCalls: 1000,
  dataByCommand: [],
};

test('CPU per input record across the box: Node + Redis + broker, in µs', () => {
  const c = perRecordCpu({
    records: 100_000,
    entitiesScored: 65_000,
    noProfile: 500,
    nodeCpuSeconds: 8.5,
    redis,
    brokerCpuSeconds: 1.5,
  });
  assert.equal(c.entitiesScoredPerRecord, 0.65);
  assert.equal(c.noProfilePerRecord, 0.005);
  assert.equal(c.nodeUs, 85);
  assert.equal(c.redisUs, 40);
  assert.equal(c.redisMainThreadUs, 35);
  assert.equal(c.redisScriptUs, 30);
  assert.equal(c.redisDataUs, 10);
  assert.equal(c.brokerUs, 15);
  assert.equal(c.boxUs, 140);
});

test('no box figure when a service could not be measured', () => {
  const c = perRecordCpu({
    records: 10,
    entitiesScored: 1,
    noProfile: 0,
    nodeCpuSeconds: 1,
    redis,
    brokerCpuSeconds: null,
  });
  assert.equal(c.brokerUs, null);
  assert.equal(c.boxUs, null);
});

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

const drainOf = (rate: number, nodeUs: number): DrainMetrics => ({
  recordsPerSec: rate,
  perRecord: {
    entitiesScoredPerRecord: 0.7,
    noProfilePerRecord: 0,
    nodeUs,
    redisUs: 30,
    redisMainThreadUs: 25,
    redisScriptUs: 20,
    redisDataUs: 8,
    brokerUs: 10,
    boxUs: nodeUs + 40,
  },
});

test('builds are compared on the median of their drains; ratio is current / old', () => {
  const current = summarise('current', [drainOf(12_000, 60), drainOf(9_000, 80), drainOf(11_000, 70)]);
  const old = summarise('v1', [drainOf(10_000, 90), drainOf(5_000, 100)]);
  assert.equal(current.median.recordsPerSec, 11_000);
  assert.equal(current.min.nodeUs, 60);
  assert.equal(current.max.nodeUs, 80);
  const c = compareBuilds(current, old);
  assert.equal(c.ratio.recordsPerSec, 11_000 / 7_500);
  assert.equal(c.ratio.nodeUs, 70 / 95);
  assert.equal(c.ratio.redisUs, 1);
});

test('a metric missing in any drain of a build is not summarised', () => {
  const d = drainOf(1000, 50);
  const partial = { ...d, perRecord: { ...d.perRecord, brokerUs: null, boxUs: null } };
  const s = summarise('current', [d, partial]);
  assert.equal(s.median.brokerUs, null);
  assert.equal(compareBuilds(s, s).ratio.boxUs, null);
});

test('rounds alternate which build drains first: A B, B A, A B', () => {
  assert.deepEqual(
    [0, 1, 2].map((r) => roundOrder(r, 'new', 'old')),
    [
      ['new', 'old'],
      ['old', 'new'],
      ['new', 'old'],
    ],
  );
  assert.deepEqual(roundOrder(1, 'new', null), ['new']);
});
