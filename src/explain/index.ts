export { linearExplainer, substitutionExplainer } from './explain.js';
export type { Explainer, ExplainerOptions, ExplainMethod, Explanation, Reason } from './explain.js';
export { linearLogitOf } from './linear.js';
export type { LinearLogit } from './linear.js';
export { explainerFor } from './for-model.js';
export { scoreExplained } from './score-explained.js';
export type { ExplainedScores } from './score-explained.js';
