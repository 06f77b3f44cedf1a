import { z } from 'zod';
import { cdcInputSchema, eventInputSchema } from '../config/options.js';

/**
 * Decoder options are the input's config entry plus the few knobs only the decoder reads. Every extra
 * knob has a default, so a validated `inputs.cdc[i]` / `inputs.events[i]` entry can be passed as is.
 */
export const cdcDecodeOptionsSchema = cdcInputSchema.extend({
  /**
   * The topic carries `ExtractNewRecordState` (unwrap) output: the value is the plain row, a delete is a row
   * with `__deleted: "true"` (delete.handling.mode=rewrite) or a tombstone. Full envelopes are still read.
   */
  unwrapped: z.boolean().default(false),
});

export const eventDecodeOptionsSchema = eventInputSchema.extend({
  /** Field holding the event's idempotency key; absent → `<topic>/<partition>/<offset>`. */
  eventIdField: z.string().min(1).default('txn_id'),
});

export type CdcDecodeOptionsInput = z.input<typeof cdcDecodeOptionsSchema>;
export type CdcDecodeOptions = z.output<typeof cdcDecodeOptionsSchema>;
export type EventDecodeOptionsInput = z.input<typeof eventDecodeOptionsSchema>;
export type EventDecodeOptions = z.output<typeof eventDecodeOptionsSchema>;
