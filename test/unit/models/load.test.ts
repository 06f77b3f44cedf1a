import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StreamscoreError } from '../../../src/errors/index.js';
import { loadModel } from '../../../src/models/index.js';
import {
  logisticBytes,
  manifestFor,
  SMALL_SPEC,
  tempModelsDir,
  writeModel,
  zipMapBytes,
} from './fixtures.js';

function rejectsWith(code: string, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StreamscoreError, `expected a StreamscoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

describe('loadModel', () => {
  let root: string;
  before(async () => {
    root = await tempModelsDir();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads a good model, verifies it and runs one batch', async () => {
    const bytes = logisticBytes(2);
    await writeModel(root, bytes, manifestFor(SMALL_SPEC, bytes));
    const model = await loadModel(root, 'tiny', '1');
    try {
      assert.equal(model.width, 2);
      assert.equal(model.manifest.version, '1');
      assert.equal(model.sha256, model.manifest.onnx_sha256);
      assert.equal(model.featureSpec.name, 'tiny');
      const scores = await model.runner.run(Float32Array.from([0, 0, 1, 2, -3, 5]), 3);
      assert.equal(scores.length, 3);
      assert.equal(scores[0], Math.fround(1 / (1 + Math.exp(0.25))));
    } finally {
      await model.close();
      await model.close(); // idempotent
    }
  });

  it('refuses a tampered model.onnx, naming the file and both hashes', async () => {
    const bytes = logisticBytes(2);
    const manifest = manifestFor(SMALL_SPEC, bytes, 'tampered');
    const dir = await writeModel(root, bytes, manifest, 'tampered');
    const tampered = Buffer.from(await readFile(join(dir, 'model.onnx')));
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    await writeFile(join(dir, 'model.onnx'), tampered);
    await assert.rejects(
      loadModel(root, 'tampered', '1'),
      rejectsWith(
        'SS_MODEL_INTEGRITY',
        /tampered\/1\/model\.onnx/,
        new RegExp(manifest.onnx_sha256),
        /has sha256 [0-9a-f]{64}/,
      ),
    );
  });

  it('refuses a ZipMap (sequence of maps) output and says how to export without it', async () => {
    const bytes = zipMapBytes();
    const spec = {
      ...SMALL_SPEC,
      features: [SMALL_SPEC.features[0], { ...SMALL_SPEC.features[1], name: 'other' }],
    };
    await writeModel(root, bytes, manifestFor(spec as typeof SMALL_SPEC, bytes, 'zipmap'), 'zipmap');
    await assert.rejects(
      loadModel(root, 'zipmap', '1'),
      rejectsWith('SS_MODEL_SIGNATURE', /zipmap\/1\/model\.onnx/, /not a tensor/, /'zipmap': False/),
    );
  });

  it('refuses a model whose input width differs from the feature spec', async () => {
    const bytes = logisticBytes(3);
    await writeModel(root, bytes, manifestFor(SMALL_SPEC, bytes, 'wide'), 'wide');
    await assert.rejects(
      loadModel(root, 'wide', '1'),
      rejectsWith(
        'SS_MODEL_SIGNATURE',
        /wide\/1\/model\.onnx/,
        /takes 3 features per row, the feature spec has 2/,
      ),
    );
  });

  it('refuses a model.json whose input_shape disagrees with its feature spec', async () => {
    const bytes = logisticBytes(2);
    await writeModel(
      root,
      bytes,
      { ...manifestFor(SMALL_SPEC, bytes, 'shape'), input_shape: ['batch', 5] },
      'shape',
    );
    await assert.rejects(
      loadModel(root, 'shape', '1'),
      rejectsWith('SS_MODEL_SIGNATURE', /model\.json/, /declares 5/),
    );
  });

  it('refuses an input name that model.json does not declare', async () => {
    const bytes = logisticBytes(2);
    await writeModel(root, bytes, { ...manifestFor(SMALL_SPEC, bytes, 'inname'), input_name: 'x' }, 'inname');
    await assert.rejects(
      loadModel(root, 'inname', '1'),
      rejectsWith('SS_MODEL_SIGNATURE', /input is "features"/),
    );
  });

  it('names the missing directory and the versions that do exist', async () => {
    const bytes = logisticBytes(2);
    await writeModel(root, bytes, manifestFor(SMALL_SPEC, bytes, 'multi', '2'), 'multi', '2');
    await assert.rejects(
      loadModel(root, 'multi', '9'),
      rejectsWith('SS_MODEL_LOAD', /multi\/9: model directory not found \(versions present: 2\)/),
    );
  });

  it('names a missing model.onnx', async () => {
    const bytes = logisticBytes(2);
    const dir = await writeModel(root, bytes, manifestFor(SMALL_SPEC, bytes, 'noonnx'), 'noonnx');
    await rm(join(dir, 'model.onnx'));
    await assert.rejects(
      loadModel(root, 'noonnx', '1'),
      rejectsWith('SS_MODEL_LOAD', /noonnx\/1\/model\.onnx: cannot read \(ENOENT\)/),
    );
  });

  it('reports every problem of an invalid model.json with its path', async () => {
    const bytes = logisticBytes(2);
    const manifest = {
      ...manifestFor(SMALL_SPEC, bytes, 'badjson'),
      thresholds: [
        { tier: 'high', min: 0.6 },
        { tier: 'low', min: 0.1 },
      ],
      onnx_sha256: 'nope',
    };
    await writeModel(root, bytes, manifest, 'badjson');
    await assert.rejects(
      loadModel(root, 'badjson', '1'),
      rejectsWith(
        'SS_MODEL_LOAD',
        /badjson\/1\/model\.json/,
        /onnx_sha256/,
        /thresholds\.0\.min/,
        /thresholds\.1\.min: tier mins must increase/,
      ),
    );
  });

  it('reports an invalid feature spec inside model.json as such, naming the feature', async () => {
    const bytes = logisticBytes(2);
    const spec = {
      ...SMALL_SPEC,
      features: [{ name: 'age', source: { field: 'age' } }, SMALL_SPEC.features[1]],
    };
    await writeModel(root, bytes, manifestFor(spec as typeof SMALL_SPEC, bytes, 'badspec'), 'badspec');
    await assert.rejects(
      loadModel(root, 'badspec', '1'),
      rejectsWith('SS_FEATURE_SPEC_INVALID', /badspec\/1\/model\.json feature_spec/, /feature "age"/),
    );
  });

  it('refuses a model.json that describes another version than its directory', async () => {
    const bytes = logisticBytes(2);
    await writeModel(root, bytes, manifestFor(SMALL_SPEC, bytes, 'moved', '1'), 'moved', '3');
    await assert.rejects(
      loadModel(root, 'moved', '3'),
      rejectsWith('SS_MODEL_LOAD', /describes moved\/1, but was found at moved\/3/),
    );
  });

  it('refuses names that would escape the models directory', async () => {
    await assert.rejects(loadModel(root, '..', '1'), rejectsWith('SS_MODEL_LOAD', /invalid model name/));
    await assert.rejects(
      loadModel(root, 'tiny', '../1'),
      rejectsWith('SS_MODEL_LOAD', /invalid model version/),
    );
  });
});
