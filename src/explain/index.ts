export { linearExplainer, substitutionExplainer } from './explain.js';
export type { Explainer, ExplainerOptions, ExplainMethod, Explanation, Reason } from './explain.js';
export { linearLogitOf } from './linear.js';
export type { LinearLogit } from './linear.js';
export { explainerFor } from './for-model.js';
