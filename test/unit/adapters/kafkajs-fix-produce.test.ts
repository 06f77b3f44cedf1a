import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
// as in the pipeline's process: the fixes are installed before any of kafkajs's produce requests load
import '../../../src/adapters/kafkajs-fix.js';

const require = createRequire(import.meta.url);
type Produce = (a: object) => { apiVersion: number; encode(): Promise<{ buffer: Buffer }> };

test('installed: produce requests v3 to v7 keep their versions and encode through the one-buffer request', async (t) => {
  const args = {
    acks: -1,
    timeout: 30000,
    topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v' }] }] }],
  };
  let encoded: Buffer | undefined;
  const realNow = Date.now;
  // the batch's timestamps are the time of its encoding: one time for all five
  Date.now = () => 1764800000000;
  t.after(() => {
    Date.now = realNow;
  });
  for (const v of [3, 4, 5, 6, 7]) {
    const request = require(`kafkajs/src/protocol/requests/produce/v${v}/request.js`) as Produce;
    const r = request(args);
    assert.equal(r.apiVersion, v);
    const bytes = (await r.encode()).buffer;
    // v3–v7 share one body (they differ in the version number the frame carries)
    encoded ??= bytes;
    assert.ok(bytes.equals(encoded), `v${v}`);
  }
  const v3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as Produce;
  assert.doesNotMatch(String(v3), /new Encoder\(\)/, "the request in place is streamscore's");
  const frame = require('kafkajs/src/protocol/request.js') as (r: object) => Promise<unknown>;
  assert.doesNotMatch(String(frame), /new Encoder\(\)/, "the framing in place is streamscore's");
});
