import { z } from 'zod';
import { pathSegment } from '../models/options.js';

/** Which model to serve and how; mirrors the `model` section of the config plus runtime knobs. */
export const scorerOptionsSchema = z
  .object({
    dir: z.string().min(1).default('models'),
    name: pathSegment.default('churn'),
    // The version the pipeline pins unless told otherwise.
    version: pathSegment.default('2'),
    // Measured: a 5,000-row batch of the churn model runs in well under 1 ms on one thread, so a second
    // thread buys nothing and would compete with the event loop on a 2-core box.
    intraOpNumThreads: z.number().int().min(1).max(64).default(1),
  })
  .strict();

export type ScorerOptions = z.input<typeof scorerOptionsSchema>;
