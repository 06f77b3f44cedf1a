import assert from 'node:assert/strict';
import test from 'node:test';
import { ProgressLine, progressText } from '../../../src/observe/progress-line.js';

test('progressText: done of total, share, rate and time left', () => {
  assert.equal(
    progressText('reading dlq', 2500, 10000, 2000, 'offsets'),
    'reading dlq: 2,500 / 10,000 offsets (25.0%), 1,250/s, 6 s left',
  );
  assert.equal(progressText('x', 3, undefined, 500, 'records'), 'x: 3 records');
  assert.equal(progressText('x', 10, 10, 4000, 'records'), 'x: 10 / 10 records (100.0%), 3/s');
  assert.equal(
    progressText('x', 1, 1_000_000, 1000, 'records'),
    'x: 1 / 1,000,000 records (0.0%), 1/s, 277.8 h left',
  );
});

test('ProgressLine: a log gets a new line at most every logEveryMs, a terminal a redrawn line; finish always writes', () => {
  let now = 0;
  const logged: string[] = [];
  const log = new ProgressLine('read', 100, {
    out: { write: (t: string) => logged.push(t) },
    logEveryMs: 5000,
    now: () => now,
  });
  for (let i = 1; i <= 20; i++) {
    now = i * 1000;
    log.update(i * 5);
  }
  log.finish();
  // updates at 1 s, 6 s, 11 s, 16 s, then the final line
  assert.equal(logged.length, 5);
  assert.ok(logged.every((l) => l.endsWith('\n') && !l.includes('\r')));
  assert.match(logged[4] ?? '', /^read: 100 \/ 100 records \(100\.0%\)/);

  now = 0;
  const drawn: string[] = [];
  const tty = new ProgressLine('read', 10, {
    out: { isTTY: true, write: (t: string) => drawn.push(t) },
    everyMs: 200,
    now: () => now,
  });
  now = 300;
  tty.update(5);
  assert.equal(tty.drawing, true);
  now = 400;
  tty.update(6); // within everyMs of the last draw: not drawn
  tty.finish(10);
  assert.equal(drawn.length, 2);
  assert.ok(drawn[0]?.startsWith('\r') && !drawn[0].endsWith('\n'));
  assert.ok(drawn[1]?.endsWith('\n'));
  assert.equal(tty.drawing, false);
});
