export { guardScores } from './guard.js';
export { ScoreJumps } from './jumps.js';
export type { GuardFailure, GuardOptions } from './guard.js';
