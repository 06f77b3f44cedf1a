import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { formatIssues } from '../config/index.js';
import { StreamscoreError } from '../errors/index.js';
import { featureNames, parseFeatureSpec } from '../features/index.js';
import {
  loadModelOptionsSchema,
  MODEL_JSON,
  MODEL_ONNX,
  modelManifestSchema,
  pathSegment,
} from './options.js';
import type { LoadedModel, LoadModelOptions, ModelManifest, ModelRef, ModelRunner } from './types.js';

const ZIPMAP_HINT =
  'a scikit-learn classifier exported with ZipMap yields a sequence of maps; re-export with zipmap disabled: ' +
  "convert_sklearn(..., options={id(model): {'zipmap': False}}) (or options={'zipmap': False}) in skl2onnx";

function loadError(file: string, reason: string, cause?: unknown): StreamscoreError {
  return new StreamscoreError('SS_MODEL_LOAD', `cannot load model: ${file}: ${reason}`, { cause });
}

function signatureError(file: string, reason: string): StreamscoreError {
  return new StreamscoreError('SS_MODEL_SIGNATURE', `model signature does not fit: ${file}: ${reason}`);
}

async function availableVersions(dir: string, name: string): Promise<string> {
  try {
    const entries = await readdir(join(dir, name), { withFileTypes: true });
    const versions = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    return versions.length > 0 ? ` (versions present: ${versions.sort().join(', ')})` : '';
  } catch {
    return '';
  }
}

async function readManifest(jsonPath: string, ref: ModelRef): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (cause) {
    throw loadError(jsonPath, `cannot read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, cause);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw loadError(jsonPath, `not valid JSON: ${(cause as Error).message}`, cause);
  }
  const result = modelManifestSchema.safeParse(raw);
  if (!result.success) {
    const problems = formatIssues(result.error.issues);
    throw new StreamscoreError(
      'SS_MODEL_LOAD',
      `cannot load model: ${jsonPath}: invalid:\n  - ${problems.join('\n  - ')}`,
      {
        details: { problems },
      },
    );
  }
  const featureSpec = parseFeatureSpec(result.data.feature_spec, `${jsonPath} feature_spec`);
  const manifest: ModelManifest = { ...result.data, feature_spec: featureSpec };
  if (manifest.name !== ref.name || manifest.version !== ref.version) {
    throw loadError(
      jsonPath,
      `describes ${manifest.name}/${manifest.version}, but was found at ${ref.name}/${ref.version}`,
    );
  }
  const names = featureNames(featureSpec);
  const missing = names.filter((n) => manifest.reference.features[n] === undefined);
  const extra = Object.keys(manifest.reference.features).filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw loadError(
      jsonPath,
      `reference.features must cover exactly the spec's features (missing: ${missing.join(', ') || 'none'}; ` +
        `unknown: ${extra.join(', ') || 'none'})`,
    );
  }
  if (manifest.input_shape[1] !== names.length) {
    throw signatureError(
      jsonPath,
      `input_shape declares ${manifest.input_shape[1]} features, feature_spec has ${names.length}`,
    );
  }
  return Object.freeze(manifest);
}

function isBatchDim(dim: number | string | undefined): boolean {
  return typeof dim === 'string' || dim === -1;
}

/** Checks the session's declared inputs and outputs against model.json before any record reaches it. */
function checkSignature(session: ort.InferenceSession, manifest: ModelManifest, onnxPath: string): void {
  const width = manifest.feature_spec.features.length;
  const inputs = session.inputMetadata;
  const input = inputs[0];
  if (inputs.length !== 1 || input === undefined) {
    throw signatureError(
      onnxPath,
      `expected exactly 1 input, found ${inputs.map((i) => i.name).join(', ') || 'none'}`,
    );
  }
  if (input.name !== manifest.input_name) {
    throw signatureError(
      onnxPath,
      `input is "${input.name}", model.json input_name is "${manifest.input_name}"`,
    );
  }
  if (!input.isTensor || input.type !== 'float32') {
    throw signatureError(onnxPath, `input "${input.name}" must be a float32 tensor`);
  }
  const [batch, cols] = input.shape;
  if (input.shape.length !== 2 || !isBatchDim(batch)) {
    throw signatureError(
      onnxPath,
      `input shape [${input.shape.join(', ')}] must be [batch, ${width}] with a symbolic batch`,
    );
  }
  if (cols !== width) {
    throw signatureError(
      onnxPath,
      `input "${input.name}" takes ${String(cols)} features per row, the feature spec has ${width} ` +
        `(${manifest.feature_spec.name}@${manifest.feature_spec.version})`,
    );
  }
  const output = session.outputMetadata.find((o) => o.name === manifest.output_name);
  if (output === undefined) {
    const found = session.outputMetadata
      .map((o) => `${o.name}${o.isTensor ? '' : ' (not a tensor)'}`)
      .join(', ');
    const zipmap = session.outputMetadata.some((o) => !o.isTensor) ? `; ${ZIPMAP_HINT}` : '';
    throw signatureError(onnxPath, `no output "${manifest.output_name}" (found ${found})${zipmap}`);
  }
  if (!output.isTensor) {
    throw signatureError(onnxPath, `output "${output.name}" is not a tensor; ${ZIPMAP_HINT}`);
  }
  if (output.type !== 'float32') {
    throw signatureError(onnxPath, `output "${output.name}" is ${output.type}, expected float32 scores`);
  }
  const column = manifest.output_column;
  const okRank =
    column === undefined ? output.shape.length === 1 || output.shape.length === 2 : output.shape.length === 2;
  const lastDim = output.shape[1];
  const okCols =
    output.shape.length === 1 ||
    typeof lastDim !== 'number' ||
    lastDim < 0 ||
    (column === undefined ? lastDim === 1 : lastDim > column);
  if (!okRank || !okCols) {
    throw signatureError(
      onnxPath,
      `output "${output.name}" has shape [${output.shape.join(', ')}]; expected [batch] or [batch, 1]` +
        `, or [batch, C] with output_column < C`,
    );
  }
}

class OrtRunner implements ModelRunner {
  readonly #session: ort.InferenceSession;
  readonly #input: string;
  readonly #output: string;
  readonly #width: number;
  readonly #column: number | undefined;
  readonly #label: string;
  #released = false;

  constructor(session: ort.InferenceSession, manifest: ModelManifest, label: string) {
    this.#session = session;
    this.#input = manifest.input_name;
    this.#output = manifest.output_name;
    this.#width = manifest.feature_spec.features.length;
    this.#column = manifest.output_column;
    this.#label = label;
  }

  async run(matrix: Float32Array, rows: number): Promise<Float32Array> {
    if (this.#released)
      throw new StreamscoreError('SS_SCORE_FAILED', `${this.#label}: session already released`);
    if (!Number.isInteger(rows) || rows < 0 || matrix.length !== rows * this.#width) {
      throw new RangeError(
        `${this.#label}: matrix has ${matrix.length} values, expected ${rows} × ${this.#width}`,
      );
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      const feeds = { [this.#input]: new ort.Tensor('float32', matrix, [rows, this.#width]) };
      result = await this.#session.run(feeds, [this.#output]);
    } catch (cause) {
      throw new StreamscoreError(
        'SS_SCORE_FAILED',
        `${this.#label}: onnxruntime run failed: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    const out = result[this.#output];
    if (!(out instanceof ort.Tensor) || !(out.data instanceof Float32Array)) {
      throw new StreamscoreError(
        'SS_SCORE_FAILED',
        `${this.#label}: output "${this.#output}" is not a float32 tensor`,
      );
    }
    const cols = this.#column === undefined ? 1 : (out.dims[1] ?? 0);
    if (out.dims[0] !== rows || out.data.length !== rows * cols) {
      throw new StreamscoreError(
        'SS_SCORE_FAILED',
        `${this.#label}: output shape [${out.dims.join(', ')}] does not give one score for each of ${rows} rows`,
      );
    }
    if (this.#column === undefined) return out.data;
    const scores = new Float32Array(rows);
    for (let r = 0; r < rows; r++) scores[r] = out.data[r * cols + this.#column] as number;
    return scores;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#session.release();
  }
}

/**
 * Loads `<dir>/<name>/<version>`, verifying on the way that model.onnx is byte for byte the file model.json
 * describes and that its signature fits the feature spec. The bytes that were hashed are the bytes given to
 * ONNX Runtime, so the file cannot change between check and use.
 * @throws StreamscoreError SS_MODEL_LOAD, SS_MODEL_INTEGRITY, SS_MODEL_SIGNATURE, SS_FEATURE_SPEC_INVALID
 */
export async function loadModel(
  dir: string,
  name: string,
  version: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  for (const [what, value] of [
    ['name', name],
    ['version', version],
  ] as const) {
    if (!pathSegment.safeParse(value).success) {
      throw loadError(join(dir, name, version), `invalid model ${what} ${JSON.stringify(value)}`);
    }
  }
  const { intraOpNumThreads } = loadModelOptionsSchema.parse(options);
  const ref: ModelRef = { dir, name, version };
  const path = resolve(dir, name, version);
  try {
    if (!(await stat(path)).isDirectory()) throw loadError(path, 'not a directory');
  } catch (cause) {
    if (cause instanceof StreamscoreError) throw cause;
    throw loadError(path, `model directory not found${await availableVersions(dir, name)}`, cause);
  }
  const jsonPath = join(path, MODEL_JSON);
  const onnxPath = join(path, MODEL_ONNX);
  const manifest = await readManifest(jsonPath, ref);
  let bytes: Buffer;
  try {
    bytes = await readFile(onnxPath);
  } catch (cause) {
    throw loadError(onnxPath, `cannot read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, cause);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== manifest.onnx_sha256) {
    throw new StreamscoreError(
      'SS_MODEL_INTEGRITY',
      `model integrity check failed: ${onnxPath} has sha256 ${sha256}, ${jsonPath} expects ${manifest.onnx_sha256}`,
      { details: { file: onnxPath, actual: sha256, expected: manifest.onnx_sha256 } },
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  } catch (cause) {
    throw loadError(onnxPath, `onnxruntime cannot create a session: ${(cause as Error).message}`, cause);
  }
  try {
    checkSignature(session, manifest, onnxPath);
  } catch (err) {
    await session.release();
    throw err;
  }
  const runner = new OrtRunner(session, manifest, `${name}/${version}`);
  return Object.freeze({
    ref,
    path,
    onnxPath,
    manifest,
    featureSpec: manifest.feature_spec,
    width: manifest.feature_spec.features.length,
    sha256,
    runner,
    close: () => runner.release(),
  });
}
