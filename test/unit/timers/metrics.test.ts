import assert from 'node:assert/strict';
import test from 'node:test';
import { emptyCountsOf } from '../../../src/rescore/index.js';
import { TimerMetrics } from '../../../src/timers/index.js';

test('timer metrics: entities counted by outcome from cumulative counts, sweeps and their end time; health fails only after a long quiet', async () => {
  const m = new TimerMetrics('churn', 1000, 5000);
  const c = emptyCountsOf();
  c.scored = 3;
  c.not_due = 10;
  m.progress(c);
  c.scored = 5;
  m.progress(c); // cumulative: +2
  m.sweep({ sweep: 1, counts: c, elapsedMs: 1500 });
  const text = await m.registry.metrics();
  assert.match(text, /streamscore_timer_entities_total\{outcome="scored",pipeline="churn"\} 5/);
  assert.match(text, /streamscore_timer_entities_total\{outcome="not_due",pipeline="churn"\} 10/);
  assert.match(text, /streamscore_timer_entities_total\{outcome="other_model",pipeline="churn"\} 0/);
  assert.match(text, /streamscore_timer_sweeps_total\{pipeline="churn"\} 1/);
  assert.match(text, /streamscore_timer_sweep_duration_seconds\{pipeline="churn"\} 1.5/);
  assert.match(text, /streamscore_timer_sweep_interval_seconds\{pipeline="churn"\} 1/);
  assert.deepEqual(m.live(), []);
  assert.deepEqual(m.ready(), []);
});
