import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../../src/models/index.js';
import { tempModelsDir } from './fixtures.js';

const MODELS = fileURLToPath(new URL('../../../../models', import.meta.url));
const TRAIN = fileURLToPath(new URL('../../../scripts/train.js', import.meta.url));

describe('committed models', { concurrency: 2 }, () => {
  let out: string;
  before(async () => {
    out = await tempModelsDir();
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  for (const version of ['1', '2', '3']) {
    it(`churn/${version} loads, and re-training with its recorded arguments reproduces it byte for byte`, async () => {
      const model = await loadModel(MODELS, 'churn', version);
      await model.close();
      const t = model.manifest.training;
      const args = [
        ...['--version', version, '--features', String(t.feature_set), '--seed', String(t.seed)],
        ...['--rows', String(t.rows), '--as-of', String(t.as_of), '--l2', String(t.l2), '--out', out],
      ];
      await promisify(execFile)(process.execPath, [TRAIN, ...args]);
      for (const file of ['model.onnx', 'model.json']) {
        const committed = await readFile(join(MODELS, 'churn', version, file));
        const retrained = await readFile(join(out, 'churn', version, file));
        assert.ok(committed.equals(retrained), `${file} of churn/${version} is not reproduced`);
      }
    });
  }

  it('churn/2, the pinned default, beats the profile-only churn/1 on the holdout', async () => {
    const [v1, v2] = await Promise.all(
      ['1', '2'].map(async (v) => JSON.parse(await readFile(join(MODELS, 'churn', v, 'model.json'), 'utf8'))),
    );
    assert.ok(v2.metrics.holdout.auc > v1.metrics.holdout.auc);
  });
});
