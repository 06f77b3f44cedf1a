import assert from 'node:assert/strict';
import test from 'node:test';
import { infoDelta, parseInfo, redisCost, sumInfo } from '../../../bench/redis-info.js';

const before = parseInfo(
  [
    '# CPU',
    'used_cpu_sys:1.500000',
    'used_cpu_user:2.000000',
    'used_cpu_sys_children:9.000000',
    'used_cpu_sys_main_thread:1.000000',
    'used_cpu_user_main_thread:2.000000',
    '',
    '# Commandstats',
    'cmdstat_evalsha:calls=10,usec=5000,usec_per_call=500.00,rejected_calls=0,failed_calls=0',
    'cmdstat_hset:calls=100,usec=1000,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
    'cmdstat_info:calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  ].join('\r\n'),
);

const after = parseInfo(
  [
    'used_cpu_sys:2.000000',
    'used_cpu_user:3.250000',
    'used_cpu_sys_main_thread:1.250000',
    'used_cpu_user_main_thread:3.000000',
    'cmdstat_evalsha:calls=30,usec=25000,usec_per_call=833.33,rejected_calls=0,failed_calls=0',
    'cmdstat_hset:calls=400,usec=4000,usec_per_call=10.00,rejected_calls=0,failed_calls=0',
    'cmdstat_zrangebyscore:calls=50,usec=2500,usec_per_call=50.00,rejected_calls=0,failed_calls=0',
    'cmdstat_info:calls=5,usec=500,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
    'cmdstat_client|setname:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
  ].join('\n'),
);

test('INFO cpu is the server’s own sys + user time (children excluded)', () => {
  assert.equal(before.cpuSeconds, 3.5);
  assert.equal(before.commands.get('hset')?.calls, 100);
});

test('a drain’s Redis cost: CPU delta, script time, and data commands without the bench’s own INFO', () => {
  const cost = redisCost(infoDelta(before, after));
  assert.equal(cost.cpuSeconds, 1.75);
  assert.equal(cost.mainThreadCpuSeconds, 1.25);
  assert.equal(cost.scriptUsec, 20_000);
  assert.equal(cost.scriptCalls, 20);
  // hset 3000 + zrangebyscore (new since before) 2500; info and client handshakes are not data work
  assert.equal(cost.dataUsec, 5500);
  assert.equal(cost.dataCalls, 350);
  assert.deepEqual(
    cost.dataByCommand.map((c) => c.command),
    ['hset', 'zrangebyscore'],
  );
});

test('the stages of a drain add up', () => {
  const d = infoDelta(before, after);
  const both = sumInfo([d, d]);
  assert.equal(both.cpuSeconds, 3.5);
  assert.equal(redisCost(both).scriptUsec, 40_000);
});

test('counters reset in between (CONFIG RESETSTAT) never give negative costs', () => {
  const cost = redisCost(infoDelta(after, before));
  assert.equal(cost.cpuSeconds, 0);
  assert.equal(cost.scriptUsec, 0);
});
