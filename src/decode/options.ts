import type { z } from 'zod';
import { cdcInputSchema, eventInputSchema } from '../config/options.js';

/**
 * Decoder options are the input's config entry (src/config/options.ts declares every knob the decoder
 * reads, e.g. `unwrapped`, `eventIdField`), so a validated `inputs.cdc[i]` / `inputs.events[i]` entry can
 * be passed as is.
 */
export const cdcDecodeOptionsSchema = cdcInputSchema;

export const eventDecodeOptionsSchema = eventInputSchema;

export type CdcDecodeOptionsInput = z.input<typeof cdcDecodeOptionsSchema>;
export type CdcDecodeOptions = z.output<typeof cdcDecodeOptionsSchema>;
export type EventDecodeOptionsInput = z.input<typeof eventDecodeOptionsSchema>;
export type EventDecodeOptions = z.output<typeof eventDecodeOptionsSchema>;
