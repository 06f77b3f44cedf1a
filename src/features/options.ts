import { z } from 'zod';
import type { FeatureSource, FeatureSpec, Transform } from './types.js';

export const DAY_MS = 86_400_000;

/** Longest aggregate window accepted; state for longer windows would not fit the replay-safe store. */
export const MAX_WINDOW_DAYS = 366;

export const TRANSFORM_OPS = ['default', 'clip', 'log1p', 'standardise', 'one_hot'] as const;

// Feature names end up as Avro field names and Prometheus labels, so they follow the stricter of both.
const featureName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'a feature name uses letters, digits and "_" and does not start with a digit',
  );

const fieldName = z.string().min(1);

const transformSchema = z.discriminatedUnion(
  'op',
  [
    z.object({ op: z.literal('default'), value: z.number() }).strict(),
    z.object({ op: z.literal('clip'), min: z.number(), max: z.number() }).strict(),
    z.object({ op: z.literal('log1p') }).strict(),
    z.object({ op: z.literal('standardise'), mean: z.number(), std: z.number().positive() }).strict(),
    z.object({ op: z.literal('one_hot'), category: z.string() }).strict(),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `unknown transform op ${JSON.stringify((issue.input as { op?: unknown } | undefined)?.op)} (expected one of ${TRANSFORM_OPS.join(', ')})`
        : undefined,
  },
);

// One object with two optional members rather than a union, so a mistake inside an aggregate (say a
// fractional windowDays) is reported at its own path instead of as "matches no union member".
const sourceSchema = z
  .object({
    field: fieldName.optional(),
    aggregate: z
      .object({
        fn: z.enum(['count', 'sum', 'count_true']),
        field: fieldName.optional(),
        windowDays: z.number().int().positive().max(MAX_WINDOW_DAYS),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => (s.field === undefined) !== (s.aggregate === undefined), {
    message: 'a source is either { field } (profile column) or { aggregate: { fn, field?, windowDays } }',
  })
  .transform((s) => s as FeatureSource);

const featureSchema = z
  .object({
    name: featureName,
    source: sourceSchema,
    transforms: z.array(transformSchema).default([]),
  })
  .strict();

/**
 * Rules that need the whole feature: every check here guarantees that `buildVector` writes a finite number
 * for any input, so a null column can never turn a whole batch's scores into NaN.
 */
function checkFeature(
  feature: z.output<typeof featureSchema>,
  ctx: z.core.$RefinementCtx,
  index: number,
): void {
  const at = (...rest: (string | number)[]): (string | number)[] => ['features', index, ...rest];
  const { source, transforms } = feature;
  const isAggregate = 'aggregate' in source;
  if (isAggregate) {
    const { fn, field } = source.aggregate;
    if (fn === 'count' && field !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: at('source', 'aggregate', 'field'),
        message: 'count takes no field',
      });
    }
    if (fn !== 'count' && field === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: at('source', 'aggregate', 'field'),
        message: `${fn} needs a field`,
      });
    }
  }
  // Lower bound of the value and whether it may still be missing, tracked through the transforms.
  let lower = isAggregate && source.aggregate.fn !== 'sum' ? 0 : -Infinity;
  let mayBeMissing = !isAggregate;
  transforms.forEach((t: Transform, i) => {
    switch (t.op) {
      case 'one_hot':
        if (i !== 0 || isAggregate) {
          ctx.addIssue({
            code: 'custom',
            path: at('transforms', i),
            message: 'one_hot must be the first transform of a profile field feature',
          });
        }
        lower = 0;
        mayBeMissing = false;
        break;
      case 'default':
        lower = Math.min(lower, t.value);
        mayBeMissing = false;
        break;
      case 'clip':
        if (t.min > t.max) {
          ctx.addIssue({
            code: 'custom',
            path: at('transforms', i),
            message: `clip min ${t.min} > max ${t.max}`,
          });
        }
        lower = t.min;
        break;
      case 'log1p':
        if (!(lower > -1)) {
          ctx.addIssue({
            code: 'custom',
            path: at('transforms', i),
            message: 'log1p must follow a clip with min > -1 (ln(1+x) is undefined below -1)',
          });
        }
        lower = Math.log1p(Math.max(lower, -1));
        break;
      case 'standardise':
        lower = -Infinity;
        break;
    }
  });
  if (mayBeMissing) {
    ctx.addIssue({
      code: 'custom',
      path: at('transforms'),
      message: 'a profile field feature needs a default transform (the field may be null or missing)',
    });
  }
}

export const featureSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" and "-"'),
    version: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" and "-"'),
    features: z.array(featureSchema).min(1, 'a spec has at least one feature'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Map<string, number>();
    spec.features.forEach((feature, index) => {
      const first = seen.get(feature.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['features', index, 'name'],
          message: `duplicate feature name (also features[${first}])`,
        });
      } else {
        seen.set(feature.name, index);
      }
      checkFeature(feature, ctx, index);
    });
  });

export type FeatureSpecInput = z.input<typeof featureSpecSchema>;

// Compile-time proof that the schema's output is the public type, so the two cannot drift apart.
const _specMatches: (s: z.output<typeof featureSpecSchema>) => FeatureSpec = (s) => s;
void _specMatches;
