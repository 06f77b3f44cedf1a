export { guardScores } from './guard.js';
export type { GuardFailure, GuardOptions } from './guard.js';
