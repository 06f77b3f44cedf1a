import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ModelsBySha } from '../../../src/admin/verify.js';
import type { Scorer } from '../../../src/score/index.js';

const shaOf = (version: string) =>
  (JSON.parse(readFileSync(`models/churn/${version}/model.json`, 'utf8')) as { onnx_sha256: string })
    .onnx_sha256;

test('ModelsBySha: each committed model is found by the sha256 of its model.onnx; an unknown hash finds none', async () => {
  const models = new ModelsBySha('models', 'churn');
  try {
    for (const v of ['1', '2', '3']) {
      const scorer = await models.get(shaOf(v));
      assert.ok(scorer, `churn/${v}`);
      assert.equal(scorer.model.version, v);
    }
    assert.equal(await models.get('0'.repeat(64)), null);
  } finally {
    await models.close();
  }
});

test('a recorded vector scores the same, bit for bit, alone or in a batch (what verify relies on)', async () => {
  const models = new ModelsBySha('models', 'churn');
  try {
    const found = await models.get(shaOf('2'));
    assert.ok(found);
    const scorer: Scorer = found;
    const w = scorer.model.width;
    const rows = 7;
    const m = new Float32Array(rows * w);
    for (let i = 0; i < m.length; i++) m[i] = Math.fround(Math.sin(i) * 3);
    const batch = await scorer.score(m, rows);
    for (let r = 0; r < rows; r++) {
      const alone = await scorer.score(m.slice(r * w, (r + 1) * w), 1);
      assert.equal(alone.scores[0], batch.scores[r], `row ${r}`);
    }
  } finally {
    await models.close();
  }
});
