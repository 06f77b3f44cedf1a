export { createScorer, openScorer, requireValidScores, tierFor } from './scorer.js';
export { scorerOptionsSchema } from './options.js';
export type { ScorerOptions } from './options.js';
export type { InvalidScores, Scorer, ScoreBatch, ScorerModelInfo } from './types.js';
