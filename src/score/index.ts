export { createScorer, openScorer, tierFor } from './scorer.js';
export { scorerOptionsSchema } from './options.js';
export type { ScorerOptions } from './options.js';
export type { Scorer, ScoreBatch, ScorerModelInfo } from './types.js';
