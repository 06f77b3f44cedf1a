/**
 * The model store: `<model.dir>/<name>/<version>/{model.onnx,model.json}` (models/README.md). Versions are
 * immutable folders; aliases are not files here but promotions on the control topic (control.ts), so
 * every instance and every command sees the same answer.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors/index.js';
import { MODEL_JSON } from '../models/index.js';

export interface StoredVersion {
  readonly version: string;
  /** What model.json says; `problem` instead when it cannot be read. */
  readonly sha256?: string;
  readonly trainedAt?: string;
  readonly featureVersion?: string;
  readonly width?: number;
  readonly holdoutAuc?: number;
  readonly scoreMeaning?: string;
  readonly problem?: string;
}

/** Numeric versions in numeric order, then the rest by name. */
export function byVersion(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function storedVersion(dir: string, name: string, version: string): Promise<StoredVersion> {
  try {
    const m = JSON.parse(await readFile(join(dir, name, version, MODEL_JSON), 'utf8')) as {
      onnx_sha256?: string;
      trained_at?: string;
      feature_spec?: { name?: string; version?: string; features?: unknown[] };
      metrics?: { holdout?: { auc?: number } };
      semantics?: { score_meaning?: string };
    };
    return {
      version,
      ...(m.onnx_sha256 === undefined ? {} : { sha256: m.onnx_sha256 }),
      ...(m.trained_at === undefined ? {} : { trainedAt: m.trained_at }),
      ...(m.feature_spec === undefined
        ? {}
        : {
            featureVersion: `${m.feature_spec.name}@${m.feature_spec.version}`,
            width: m.feature_spec.features?.length ?? 0,
          }),
      ...(m.metrics?.holdout?.auc === undefined ? {} : { holdoutAuc: m.metrics.holdout.auc }),
      ...(m.semantics?.score_meaning === undefined ? {} : { scoreMeaning: m.semantics.score_meaning }),
    };
  } catch (err) {
    return { version, problem: describeError(err) };
  }
}

/** Every version folder of the model, in version order. */
export async function listVersions(dir: string, name: string): Promise<StoredVersion[]> {
  let entries;
  try {
    entries = await readdir(join(dir, name), { withFileTypes: true });
  } catch {
    return [];
  }
  const versions = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  return Promise.all(versions.sort(byVersion).map((v) => storedVersion(dir, name, v)));
}
