/**
 * `npm run train -- --version 2 --features full --seed 42 --rows 20000 --out models`
 *
 * Trains the churn model on synthetic data and writes `<out>/<name>/<version>/{model.onnx,model.json}`.
 * The generating process is documented in scripts/train/synthetic.ts and models/README.md.
 *
 * Reproducible by construction: the same arguments give byte-identical files (seeded data, deterministic
 * fitting, protobuf fields written in order, `trained_at` defaulting to the data's as-of time rather than the
 * wall clock). The vectors come from `buildVector` in src/features, the very code the pipeline scores with,
 * and the written model is loaded back through `loadModel` + `createScorer` before the script reports success.
 */
import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { buildVector, featureNames, parseFeatureSpec } from '../src/features/index.js';
import type { FeatureSpec } from '../src/features/index.js';
import { loadModel, MODEL_JSON, MODEL_ONNX } from '../src/models/index.js';
import type { Distribution, ModelManifest } from '../src/models/index.js';
import { createScorer } from '../src/score/index.js';
import { column, distribution, evaluate, fitLogistic, meanStd, QUANTILE_PROBS } from './train/fit.js';
import type { Dataset } from './train/fit.js';
import { logisticRegressionOnnx } from './train/onnx.js';
import { churnSpecTemplate, FEATURE_SETS, standardisedFeatures, withStandardisation } from './train/specs.js';
import type { FeatureSet } from './train/specs.js';
import { GENERATOR, generateCustomers } from './train/synthetic.js';

const USAGE = `usage: npm run train -- [options]
  --version <v>       model version directory to write (default 2)
  --name <name>       model name (default churn)
  --features <set>    ${FEATURE_SETS.join(' | ')}: profile fields only, or profile + 7/30-day transaction aggregates (default full)
  --seed <int>        PRNG seed of the synthetic data (default 42)
  --rows <int>        customers to generate; every 5th is held out (default 20000)
  --out <dir>         models directory (default models)
  --as-of <iso>       reference time of every row (default 2025-06-01T00:00:00Z)
  --trained-at <iso>  recorded training time (default: the as-of time, so reruns are byte-identical)
  --l2 <number>       L2 penalty on the weights (default 1)
  --force             overwrite an existing version directory
  --help`;

const INPUT_NAME = 'features';
const OUTPUT_NAME = 'churn_probability';
const SESSION_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
} as const;

interface Args {
  version: string;
  name: string;
  features: FeatureSet;
  seed: number;
  rows: number;
  out: string;
  asOfMs: number;
  trainedAt: string;
  l2: number;
  force: boolean;
}

class UsageError extends Error {}

function parseCli(argv: string[]): Args | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        version: { type: 'string', default: '2' },
        name: { type: 'string', default: 'churn' },
        features: { type: 'string', default: 'full' },
        seed: { type: 'string', default: '42' },
        rows: { type: 'string', default: '20000' },
        out: { type: 'string', default: 'models' },
        'as-of': { type: 'string', default: '2025-06-01T00:00:00Z' },
        'trained-at': { type: 'string' },
        l2: { type: 'string', default: '1' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const int = (flag: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      throw new UsageError(`--${flag} must be an integer in [${min}, ${max}], got "${raw}"`);
    return n;
  };
  const features = values.features as FeatureSet;
  if (!FEATURE_SETS.includes(features))
    throw new UsageError(`--features must be one of ${FEATURE_SETS.join(', ')}`);
  const asOfMs = Date.parse(values['as-of']);
  if (Number.isNaN(asOfMs)) throw new UsageError(`--as-of is not an ISO-8601 time: "${values['as-of']}"`);
  const trainedAt = values['trained-at'] ?? new Date(asOfMs).toISOString();
  if (Number.isNaN(Date.parse(trainedAt)))
    throw new UsageError(`--trained-at is not an ISO-8601 time: "${trainedAt}"`);
  const l2 = Number(values.l2);
  if (!(l2 >= 0)) throw new UsageError(`--l2 must be a number >= 0, got "${values.l2}"`);
  return {
    version: values.version,
    name: values.name,
    features,
    seed: int('seed', values.seed, 0, 2 ** 32 - 1),
    rows: int('rows', values.rows, 100, 5_000_000),
    out: values.out,
    asOfMs,
    trainedAt: new Date(Date.parse(trainedAt)).toISOString(),
    l2,
    force: values.force,
  };
}

const isHoldout = (index: number): boolean => index % 5 === 0;

/** One pass over the generated customers: the vectors under `spec`, labels, and profile-field missing rates. */
function vectorise(args: Args, spec: FeatureSpec) {
  const width = spec.features.length;
  const x = new Float32Array(args.rows * width);
  const y = new Uint8Array(args.rows);
  const missing = new Map<string, number>();
  let i = 0;
  for (const c of generateCustomers(args.seed, args.rows, args.asOfMs)) {
    x.set(buildVector(spec, { profile: c.profile, events: c.events, asOfMs: args.asOfMs }), i * width);
    y[i] = c.label;
    if (!isHoldout(i)) {
      for (const f of spec.features) {
        if ('field' in f.source && c.profile[f.source.field] == null)
          missing.set(f.name, (missing.get(f.name) ?? 0) + 1);
      }
    }
    i++;
  }
  return { x, y, missing };
}

async function main(args: Args): Promise<void> {
  const dir = join(args.out, args.name, args.version);
  if (!args.force && (await stat(dir).catch(() => null)) !== null) {
    throw new UsageError(`${dir} exists; a published version is immutable (use --force to overwrite)`);
  }
  const allRows = Array.from({ length: args.rows }, (_, i) => i);
  const trainRows = allRows.filter((i) => !isHoldout(i));
  const holdoutRows = allRows.filter(isHoldout);

  // Pass 1: vectors with identity standardisation give the values standardise will see; fit on train only.
  const template = parseFeatureSpec(churnSpecTemplate(args.features, args.version));
  const raw = vectorise(args, template);
  const fitted = new Map<number, { mean: number; std: number }>();
  for (const j of standardisedFeatures(template)) {
    const { mean, std } = meanStd(
      column({ x: raw.x, y: raw.y, width: template.features.length, rows: trainRows }, j),
    );
    fitted.set(j, { mean, std: std > 0 ? std : 1 });
  }
  const spec = parseFeatureSpec(withStandardisation(template, fitted));
  const width = spec.features.length;

  // Pass 2: the final vectors, regenerated rather than patched so they come from buildVector exactly as served.
  const { x, y, missing } = vectorise(args, spec);
  const train: Dataset = { x, y, width, rows: trainRows };
  const fit = fitLogistic(train, args.l2);

  const onnxBytes = logisticRegressionOnnx({
    weights: fit.weights,
    bias: fit.bias,
    inputName: INPUT_NAME,
    outputName: OUTPUT_NAME,
    graphName: `${args.name}_${args.version}`,
    docString: `streamscore ${args.name} v${args.version}: logistic regression over ${spec.name}@${spec.version}`,
    metadata: { feature_spec: `${spec.name}@${spec.version}`, features: featureNames(spec).join(',') },
  });
  const sha256 = createHash('sha256').update(onnxBytes).digest('hex');
  const session = await ort.InferenceSession.create(onnxBytes, SESSION_OPTIONS);
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', x, [args.rows, width]) });
  const scores = out[OUTPUT_NAME]?.data as Float32Array;
  await session.release();

  const pick = (rows: number[]) => ({
    scores: rows.map((r) => scores[r] as number),
    labels: rows.map((r) => y[r] as number),
  });
  const hold = pick(holdoutRows);
  const tr = pick(trainRows);
  const features: Record<string, Distribution> = {};
  spec.features.forEach((f, j) => {
    const rate = 'field' in f.source ? (missing.get(f.name) ?? 0) / trainRows.length : undefined;
    features[f.name] = distribution(column(train, j), rate);
  });
  const runHash = createHash('sha256')
    .update(JSON.stringify([GENERATOR, args.seed, args.rows, args.asOfMs, args.l2, args.features, sha256]))
    .digest('hex');

  const manifest: ModelManifest = {
    manifest_version: 1,
    name: args.name,
    version: args.version,
    training_run_id: `${args.name}-${args.version}-${runHash.slice(0, 12)}`,
    trained_at: args.trainedAt,
    onnx_sha256: sha256,
    feature_spec: spec,
    input_name: INPUT_NAME,
    output_name: OUTPUT_NAME,
    input_shape: ['batch', width],
    semantics: {
      score_meaning:
        'Probability that the customer churns (closes all products or goes inactive) within 90 days after the ' +
        'as-of time of the features.',
      valid_range: [0, 1],
      intended_use:
        'Ranking customers for retention outreach in the streamscore demo, tests and benchmark. Not for decisions ' +
        'about real customers.',
      known_limitations: [
        'Trained on synthetic data from the documented generating process in models/README.md; not calibrated for ' +
          'any real population.',
        'Logistic regression: linear in the transformed features, no interactions.',
        'Missing profile fields are imputed with fixed defaults; heavy missingness degrades ranking quality.',
        ...(args.features === 'profile'
          ? [
              'Profile fields only: blind to falling activity and declined transactions, the strongest churn signals.',
            ]
          : [
              "Transaction aggregates assume each customer's full event history for the last 30 days is present.",
            ]),
      ],
    },
    thresholds: [
      { tier: 'low', min: 0 },
      { tier: 'medium', min: 0.3 },
      { tier: 'high', min: 0.6 },
    ],
    reference: { quantile_probs: [...QUANTILE_PROBS], features, score: distribution(tr.scores) },
    metrics: { holdout: evaluate(hold.scores, hold.labels), train: evaluate(tr.scores, tr.labels) },
    training: {
      generator: GENERATOR,
      seed: args.seed,
      rows: args.rows,
      as_of: new Date(args.asOfMs).toISOString(),
      feature_set: args.features,
      split: 'holdout = every 5th customer (index % 5 == 0); standardisation and weights fitted on the rest',
      algorithm: 'logistic regression, L2 on weights, Newton-Raphson (IRLS)',
      l2: args.l2,
      iterations: fit.iterations,
    },
  };

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_ONNX), onnxBytes);
  await writeFile(join(dir, MODEL_JSON), `${JSON.stringify(manifest, null, 2)}\n`);

  // Load what was written the way the pipeline will, and insist it scores the holdout to the same bits.
  const scorer = createScorer(await loadModel(args.out, args.name, args.version));
  try {
    const matrix = new Float32Array(holdoutRows.length * width);
    holdoutRows.forEach((r, k) => matrix.set(x.subarray(r * width, (r + 1) * width), k * width));
    const served = await scorer.score(matrix, holdoutRows.length);
    const drift = hold.scores.findIndex((s, k) => s !== served.scores[k]);
    if (drift >= 0) throw new Error(`served score of holdout row ${drift} differs from the training run`);
  } finally {
    await scorer.close();
  }

  const m = manifest.metrics;
  console.log(
    `wrote ${dir} (${width} features, sha256 ${sha256.slice(0, 16)}…, ${fit.iterations} Newton steps)\n` +
      `  holdout: AUC ${m.holdout.auc}  logloss ${m.holdout.logloss}  churn rate ${m.holdout.positive_rate}  rows ${m.holdout.rows}\n` +
      `  train:   AUC ${m.train?.auc}  logloss ${m.train?.logloss}  rows ${m.train?.rows}`,
  );
}

let args: Args | 'help';
try {
  args = parseCli(process.argv.slice(2));
} catch (err) {
  console.error(`train: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args === 'help') {
  console.log(USAGE);
} else {
  main(args).catch((err: unknown) => {
    console.error(
      `train: ${err instanceof UsageError ? err.message : ((err as Error).stack ?? String(err))}`,
    );
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
