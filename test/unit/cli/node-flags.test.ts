// The runtime defaults live on bin/streamscore.js's first line; tests, the bench and the container image
// must start the same flags (docs/memory.md).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeFlagsOf, shebangNodeFlags } from '../../../src/cli/node-flags.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('shebangNodeFlags', () => {
  it('reads the flags of an env -S node line', () => {
    assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --max-semi-space-size=32  --foo'), [
      '--max-semi-space-size=32',
      '--foo',
    ]);
  });
  it('finds none on a plain node line or a non-shebang line', () => {
    assert.deepEqual(shebangNodeFlags('#!/usr/bin/env node'), []);
    assert.deepEqual(shebangNodeFlags('// hello'), []);
    assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S deno run'), []);
  });
});

describe('bin/streamscore.js runtime defaults', () => {
  const bin = join(ROOT, 'bin/streamscore.js');
  it('declares a 32 MB young-generation semi-space', () => {
    assert.ok(nodeFlagsOf(bin).includes('--max-semi-space-size=32'));
  });
  it('is started as an executable by the container image, so the flags apply there', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^ENTRYPOINT \["\/app\/bin\/streamscore\.js"\]$/m);
  });
  it('flags that node accepts and that enlarge the young generation', () => {
    // the young generation grows to its maximum when objects survive a scavenge or two
    const probe =
      "let k = []; for (let i = 0; i < 3e6; i++) { k.push({ a: i, b: 'x' + i, c: [i, i + 1] }); if (k.length > 20000) k = []; } console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
    const run = (flags: string[]) =>
      Number(execFileSync(process.execPath, [...flags, '-e', probe]).toString());
    assert.ok(run(nodeFlagsOf(bin)) > run([]));
  });
});
