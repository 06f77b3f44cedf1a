/**
 * Model promotions as records of the compacted control topic (topics/control.yaml). One key per
 * (pipeline, model, alias): compaction keeps the alias's latest target, and the record carries where it
 * came from, so a rollback needs nothing else. Values are JSON (readable with any console consumer).
 */
import { z } from 'zod';
import { StreamscoreError } from '../errors/index.js';

const promotionSchema = z
  .object({
    kind: z.literal('model-promotion'),
    pipeline: z.string().min(1),
    model: z.string().min(1),
    alias: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    /** The version the alias now names, and the sha256 of its model.onnx when it was promoted. */
    to: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** The version the alias named before (its first promotion: model.version; null when not known). */
    from: z.string().min(1).nullable(),
    by: z.string().min(1),
    reason: z.string().min(1),
    /** ISO-8601, when the command was given. */
    at: z.string().min(1),
  })
  .strict();

export type ModelPromotion = z.infer<typeof promotionSchema>;

export const ALIAS_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function promotionKey(pipeline: string, model: string, alias: string): string {
  return `model-alias/${pipeline}/${model}/${alias}`;
}

export function encodePromotion(p: ModelPromotion): Buffer {
  return Buffer.from(JSON.stringify(promotionSchema.parse(p)));
}

/**
 * The promotion a control record holds; undefined for a record of another kind or key family, or a
 * tombstone. A record under a promotion key that does not parse is an error naming the offset.
 */
export function decodePromotion(
  key: Buffer | string | null,
  value: Buffer | null,
  at: string,
): ModelPromotion | undefined {
  const k = key === null ? '' : key.toString();
  if (!k.startsWith('model-alias/') || value === null) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (cause) {
    throw new StreamscoreError('SS_CONTROL_INVALID', `control record ${at} (${k}) is not JSON`, { cause });
  }
  const parsed = promotionSchema.safeParse(raw);
  if (!parsed.success)
    throw new StreamscoreError(
      'SS_CONTROL_INVALID',
      `control record ${at} (${k}) is not a model promotion: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
        .join('; ')}`,
    );
  const p = parsed.data;
  if (k !== promotionKey(p.pipeline, p.model, p.alias))
    throw new StreamscoreError(
      'SS_CONTROL_INVALID',
      `control record ${at} has key ${k} but names ${promotionKey(p.pipeline, p.model, p.alias)}`,
    );
  return p;
}
