import { readFileSync } from 'node:fs';
import { featureNames } from '../features/index.js';
import type { LoadedModel } from '../models/index.js';
import { linearExplainer, substitutionExplainer } from './explain.js';
import type { Explainer } from './explain.js';
import { linearLogitOf } from './linear.js';

/**
 * The explainer of a loaded model: null when reasons are off (topK 0); `auto` takes the exact linear path
 * when the graph is a linear logit, else substitution. Asking for `linear` on another graph is an error at
 * load (a promotion of such a model is refused).
 */
export function explainerFor(
  model: LoadedModel,
  opts: { readonly topK: number; readonly method: 'auto' | 'linear' | 'substitution' },
): Explainer | null {
  if (opts.topK === 0) return null;
  const features = featureNames(model.featureSpec);
  const reference = Float64Array.from(features, (f) => model.manifest.reference.features[f]?.mean ?? 0);
  const [lo, hi] = model.manifest.semantics.valid_range;
  const o = { features, reference, topK: opts.topK, probability: lo === 0 && hi === 1 };
  if (opts.method === 'substitution') return substitutionExplainer(o);
  const linear = linearLogitOf(readFileSync(model.onnxPath), model.manifest.input_name, features.length);
  if (linear !== null) return linearExplainer(o, linear.weights, linear.bias);
  if (opts.method === 'linear')
    throw new Error(
      `reasons.method is linear, but ${model.onnxPath} is not a linear-logit graph (use auto or substitution)`,
    );
  return substitutionExplainer(o);
}
