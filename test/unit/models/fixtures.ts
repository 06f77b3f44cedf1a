/** Tiny model directories written to a temp dir, so each test states exactly what it loads. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { FeatureSpecInput } from '../../../src/features/index.js';
import { IR_VERSION, logisticRegressionOnnx, OPSET, tensorType } from '../../../scripts/train/onnx.js';

const { onnx } = onnxProto;

export const SMALL_SPEC: FeatureSpecInput = {
  name: 'tiny',
  version: '1',
  features: [
    {
      name: 'age',
      source: { field: 'age' },
      transforms: [
        { op: 'default', value: 40 },
        { op: 'standardise', mean: 40, std: 10 },
      ],
    },
    { name: 'txn_count_7d', source: { aggregate: { fn: 'count', windowDays: 7 } } },
  ],
};

const dist = { count: 10, mean: 0, std: 1, min: -1, max: 1, quantiles: [-1, 0, 1] };

export function manifestFor(spec: FeatureSpecInput, onnxBytes: Uint8Array, name = 'tiny', version = '1') {
  return {
    manifest_version: 1,
    name,
    version,
    training_run_id: 'test-run',
    trained_at: '2025-06-01T00:00:00.000Z',
    onnx_sha256: createHash('sha256').update(onnxBytes).digest('hex'),
    feature_spec: spec,
    input_name: 'features',
    output_name: 'score',
    input_shape: ['batch', spec.features.length],
    semantics: {
      score_meaning: 'test score',
      valid_range: [0, 1],
      intended_use: 'tests',
      known_limitations: [],
    },
    thresholds: [
      { tier: 'low', min: 0 },
      { tier: 'medium', min: 0.3 },
      { tier: 'high', min: 0.6 },
    ],
    reference: {
      quantile_probs: [0, 0.5, 1],
      features: Object.fromEntries(spec.features.map((f) => [f.name, dist])),
      score: dist,
    },
    metrics: { holdout: { rows: 10, positive_rate: 0.2, auc: 0.7, logloss: 0.5 } },
    training: { generator: 'fixture' },
  };
}

export function logisticBytes(width: number, declaredWidth = width): Uint8Array {
  const weights = Array.from({ length: width }, (_, i) => (i % 2 === 0 ? 0.75 : -0.5) / (i + 1));
  return logisticRegressionOnnx({
    weights,
    bias: -0.25,
    inputName: 'features',
    outputName: 'score',
    declaredWidth,
  });
}

/**
 * A classifier head as scikit-learn exports it by default: probabilities [N, 2] fed to ai.onnx.ml ZipMap,
 * whose output is a sequence of {class: probability} maps rather than a tensor.
 */
export function zipMapBytes(): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const graph = onnx.GraphProto.create({
    name: 'zipmap_head',
    node: [
      onnx.NodeProto.create({
        opType: 'Softmax',
        input: ['features'],
        output: ['probabilities'],
        name: 'softmax',
      }),
      onnx.NodeProto.create({
        opType: 'ZipMap',
        domain: 'ai.onnx.ml',
        input: ['probabilities'],
        output: ['score'],
        name: 'zipmap',
        attribute: [
          { name: 'classlabels_int64s', type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1] },
        ],
      }),
    ],
    input: [{ name: 'features', type: tensorType(FLOAT, [{ dimParam: 'N' }, { dimValue: 2 }]) }],
    output: [
      {
        name: 'score',
        type: {
          sequenceType: {
            elemType: {
              mapType: {
                keyType: onnx.TensorProto.DataType.INT64,
                valueType: { tensorType: { elemType: FLOAT } },
              },
            },
          },
        },
      },
    ],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: '', version: OPSET },
        { domain: 'ai.onnx.ml', version: 1 },
      ],
      graph,
    }),
  ).finish();
}

export async function tempModelsDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'streamscore-models-'));
}

/** Writes `<root>/<name>/<version>/{model.onnx,model.json}`; `manifest` overrides the generated one. */
export async function writeModel(
  root: string,
  onnxBytes: Uint8Array,
  manifest: object,
  name = 'tiny',
  version = '1',
): Promise<string> {
  const dir = join(root, name, version);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnxBytes);
  await writeFile(join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
  return dir;
}
