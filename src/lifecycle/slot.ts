/**
 * The model a running pipeline serves, and its switch to another version at a window boundary.
 *
 * A window takes the slot's current model once, when it opens, and uses it to its end (see
 * processWindow): a promotion applied meanwhile is seen by the partition's next window, so no window is
 * scored by two models. A candidate is loaded (sha256 and ONNX signature checked) and checked for
 * compatibility (compat.ts) before it is swapped in; on any failure the running model stays.
 */
import type { DriftMonitor } from '../drift/index.js';
import type { Explainer } from '../explain/index.js';
import { describeError } from '../errors/index.js';
import type { FeatureSpec } from '../features/index.js';
import type { LoadedModel } from '../models/index.js';
import type { Scorer } from '../score/index.js';
import type { ModelStamp, StateFields } from '../sink/index.js';
import { compatibilityProblems } from './compat.js';
import type { ModelPromotion } from './control.js';

/** Everything a window needs of the model that scores it. */
export interface ServingModel {
  readonly loaded: LoadedModel;
  readonly scorer: Scorer;
  readonly featureSpec: FeatureSpec;
  readonly stamp: ModelStamp;
  /** Drift against this model's reference; null when drift.enabled is false. */
  readonly drift: DriftMonitor | null;
  /** Reason codes of its predictions; null when reasons.topK is 0. */
  readonly explainer: Explainer | null;
}

export type PromotionOutcome =
  | { readonly outcome: 'applied'; readonly from: string; readonly to: string }
  | { readonly outcome: 'unchanged'; readonly to: string }
  | { readonly outcome: 'refused'; readonly to: string; readonly problems: readonly string[] };

export interface SlotOptions {
  /** Loads and verifies a version of the served model (loadModel). */
  readonly load: (version: string) => Promise<LoadedModel>;
  /** Wraps a loaded model for serving (scorer, stamp, a drift monitor of its own). */
  readonly serve: (loaded: LoadedModel) => ServingModel;
  /** What the running state keeps: a candidate must not read more. */
  readonly kept: StateFields;
}

export class ModelSlot {
  #current: ServingModel;
  /** Replaced models: a window that opened before the switch may still be scoring with one. */
  readonly #retired: ServingModel[] = [];
  readonly #opts: SlotOptions;

  constructor(initial: ServingModel, opts: SlotOptions) {
    this.#current = initial;
    this.#opts = opts;
  }

  get current(): ServingModel {
    return this.#current;
  }

  /** Loads, checks and swaps in the promotion's target; the running model stays on any problem. */
  async apply(p: ModelPromotion): Promise<PromotionOutcome> {
    const running = this.#current;
    if (p.to === running.stamp.version && p.sha256 === running.stamp.sha256)
      return { outcome: 'unchanged', to: p.to };
    let candidate: LoadedModel;
    try {
      candidate = await this.#opts.load(p.to);
    } catch (err) {
      return { outcome: 'refused', to: p.to, problems: [`cannot load it: ${describeError(err)}`] };
    }
    const problems = compatibilityProblems(running.loaded, candidate, this.#opts.kept, p.sha256);
    if (problems.length > 0) {
      await candidate.close();
      return { outcome: 'refused', to: p.to, problems };
    }
    let next: ServingModel;
    try {
      next = this.#opts.serve(candidate);
    } catch (err) {
      await candidate.close();
      return { outcome: 'refused', to: p.to, problems: [describeError(err)] };
    }
    this.#retired.push(running);
    this.#current = next;
    return { outcome: 'applied', from: running.stamp.version, to: p.to };
  }

  /** Releases every model this slot loaded. */
  async close(): Promise<void> {
    const all = [this.#current, ...this.#retired.splice(0)];
    await Promise.all(all.map((m) => m.scorer.close()));
  }
}
