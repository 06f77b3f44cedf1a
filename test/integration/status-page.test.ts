/**
 * The status page, rendered by a real headless browser (Debian's chromium, installed by scripts/tools.sh
 * when missing) against a running pipeline: its script loads /status.json and shows the pipeline state,
 * the model, every owned partition with its lag and last commit, recent windows with their counts and
 * timings, and the DLQ counts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { generateStream } from '../../src/sample/index.js';
import { waitCaughtUp } from '../helpers/kafka.js';
import { spawnPipeline, stopPipeline } from '../helpers/process.js';
import { freePort } from '../helpers/redis-server.js';
import { createTestEnv, inputTopics, produceToInputs } from '../helpers/services.js';

/** Chromium's DOM after the page's scripts ran (virtual time lets its fetch and render finish). */
function renderedDom(url: string, screenshot?: string): string {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--hide-scrollbars',
    '--window-size=1280,1100',
    '--virtual-time-budget=5000',
    ...(screenshot === undefined ? ['--dump-dom'] : [`--screenshot=${screenshot}`]),
    url,
  ];
  const r = spawnSync('chromium', args, { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `chromium failed:\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}

test('status page: a headless browser shows the state, model, partitions with lag and last commit, recent windows and DLQ counts', async () => {
  execFileSync('bash', ['scripts/tools.sh', 'chromium'], { stdio: 'inherit' });
  const port = await freePort();
  const env = await createTestEnv('status', { observe: { port, lagIntervalMs: 300, stallAfterMs: 60000 } });
  const stream = generateStream({ seed: 3, customers: 60, transactionsPerCustomer: 4, partitions: 3 });
  await produceToInputs(env.kafka, env.config, stream);
  const p = spawnPipeline(env.config);
  await waitCaughtUp(env.kafka, env.config.consumer.groupId, inputTopics(env.config), 120000);
  await new Promise((r) => setTimeout(r, 700)); // one lag reading after the last commit

  const dom = renderedDom(`http://127.0.0.1:${port}/status`);
  assert.match(dom, /<span id="state" class="badge ok">ready<\/span>/, dom.slice(0, 3000));
  assert.match(dom, /<span id="pipeline">churn<\/span>/);
  assert.match(dom, /version 2/);
  // every input partition is owned by this single instance, with a lag and a last commit
  const [cdc, tx] = inputTopics(env.config);
  for (const topic of [cdc, tx]) {
    for (let part = 0; part < 6; part++) {
      const row = new RegExp(
        `<tr data-partition="${topic}/${part}"[^>]*><td>[^<]+</td><td>(\\d+)</td><td>([^<]+)</td><td>no</td></tr>`,
      );
      const m = row.exec(dom);
      assert.ok(
        m !== null,
        `no row for ${topic}/${part}\n${dom.slice(dom.indexOf('<table id="partitions"'), dom.indexOf('<table id="partitions"') + 1500)}`,
      );
      assert.ok(Number(m[1]) <= 1, `lag of ${topic}/${part} is ${m[1]} after catching up`);
    }
  }
  assert.match(dom, /s ago<\/td>/); // last commit times
  const windows = [...dom.matchAll(/<tr data-batch="([^"]+)"/g)];
  assert.ok(windows.length > 0, 'recent windows are listed');
  assert.match(dom, /<td>none<\/td><td>0<\/td>/); // no DLQ records in this stream
  // the drift table: one row per feature of the model, with its PSI over the horizon
  const driftRows = [
    ...dom.matchAll(/<tr data-feature="([a-z0-9_]+)"[^>]*><td>[^<]+<\/td><td>(\d\.\d{3})<\/td>/g),
  ];
  assert.equal(driftRows.length, 19, 'the drift table lists the 19 features of churn/2');
  assert.match(dom, /over the last \d+ scored rows/);

  const shot = join(mkdtempSync(join(tmpdir(), 'streamscore-status-')), 'status.png');
  renderedDom(`http://127.0.0.1:${port}/status`, shot);
  const png = readFileSync(shot);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.ok(png.length > 10000, 'the screenshot has content');
  // STREAMSCORE_STATUS_SCREENSHOT=docs/status-page.png keeps it (how the one in docs/ was made)
  const keep = process.env.STREAMSCORE_STATUS_SCREENSHOT;
  if (keep !== undefined && keep !== '') copyFileSync(shot, keep);

  const r = await stopPipeline(p);
  assert.equal(r.code, 0, p.output().slice(-3000));
});
