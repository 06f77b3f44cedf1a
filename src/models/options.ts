import { z } from 'zod';
import type { LoadModelOptions, ModelManifest } from './types.js';

export const MODEL_ONNX = 'model.onnx';
export const MODEL_JSON = 'model.json';

/** Model names and versions become path segments: no separators, no `..`. */
export const pathSegment = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" and "-" (not starting with ".")');

export const loadModelOptionsSchema = z
  .object({
    // 1 by default: on the 2-core boxes this runs on, the other core belongs to the event loop and libuv.
    intraOpNumThreads: z.number().int().min(1).max(64).default(1),
  })
  .strict();

export const DEFAULT_LOAD_OPTIONS: Required<LoadModelOptions> = loadModelOptionsSchema.parse({});

const finite = z.number();

const distributionSchema = z
  .object({
    count: z.number().int().nonnegative(),
    mean: finite,
    std: finite.nonnegative(),
    min: finite,
    max: finite,
    quantiles: z.array(finite).min(1),
    missing_rate: z.number().min(0).max(1).optional(),
  })
  .strict();

const metricsSchema = z
  .object({
    rows: z.number().int().positive(),
    positive_rate: z.number().min(0).max(1),
    auc: z.number().min(0).max(1),
    logloss: z.number().nonnegative(),
  })
  .strict();

export const modelManifestSchema = z
  .object({
    manifest_version: z.literal(1),
    name: pathSegment,
    version: pathSegment,
    training_run_id: z.string().min(1),
    trained_at: z.iso.datetime({ offset: true }),
    onnx_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
    // Validated by parseFeatureSpec, which names the offending feature; kept opaque here.
    feature_spec: z.unknown(),
    input_name: z.string().min(1),
    output_name: z.string().min(1),
    input_shape: z.tuple([z.string().min(1), z.number().int().positive()]),
    output_column: z.number().int().nonnegative().optional(),
    semantics: z
      .object({
        score_meaning: z.string().min(1),
        valid_range: z
          .tuple([finite, finite])
          .refine(([lo, hi]) => lo < hi, 'valid_range must be [low, high], low < high'),
        intended_use: z.string().min(1),
        known_limitations: z.array(z.string().min(1)),
      })
      .strict(),
    thresholds: z
      .array(z.object({ tier: z.string().regex(/^[a-z][a-z0-9_]*$/), min: finite }).strict())
      .min(1),
    reference: z
      .object({
        quantile_probs: z.array(z.number().min(0).max(1)).min(1),
        features: z.record(z.string(), distributionSchema),
        score: distributionSchema,
      })
      .strict(),
    metrics: z.object({ holdout: metricsSchema, train: metricsSchema.optional() }).strict(),
    training: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  })
  .strict()
  .superRefine((m, ctx) => {
    const [lo, hi] = m.semantics.valid_range;
    const tiers = new Set<string>();
    m.thresholds.forEach((t, i) => {
      const prev = m.thresholds[i - 1];
      if (i === 0 && t.min !== lo) {
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', i, 'min'],
          message: `the first tier must start at valid_range low (${lo}) so every score has a tier`,
        });
      }
      if (prev !== undefined && !(t.min > prev.min)) {
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', i, 'min'],
          message: 'tier mins must increase strictly',
        });
      }
      if (t.min < lo || t.min > hi) {
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', i, 'min'],
          message: `outside valid_range [${lo}, ${hi}]`,
        });
      }
      if (tiers.has(t.tier)) {
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', i, 'tier'],
          message: `duplicate tier "${t.tier}"`,
        });
      }
      tiers.add(t.tier);
    });
    const probs = m.reference.quantile_probs.length;
    const dists = [...Object.entries(m.reference.features), ['(score)', m.reference.score] as const];
    for (const [name, d] of dists) {
      if (d.quantiles.length !== probs) {
        ctx.addIssue({
          code: 'custom',
          path: [
            'reference',
            name === '(score)' ? 'score' : 'features',
            ...(name === '(score)' ? [] : [name]),
          ],
          message: `has ${d.quantiles.length} quantiles, quantile_probs has ${probs}`,
        });
      }
    }
  });

// Compile-time proof that a parsed manifest (with its feature spec parsed separately) is the public type.
const _manifestMatches: (m: z.output<typeof modelManifestSchema>) => Omit<ModelManifest, 'feature_spec'> = (
  m,
) => m;
void _manifestMatches;
