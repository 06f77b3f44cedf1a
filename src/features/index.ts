export { parseFeatureSpec, featureNames, eventNeeds, profileFields } from './spec.js';
export {
  buildVector,
  buildMatrix,
  buildMatrixYielding,
  byTimeThenId,
  dropRepeats,
  sortByTimeThenId,
  lastWindowExit,
  rawAggregates,
} from './vector.js';
export { featureSpecSchema, DAY_MS, MAX_WINDOW_DAYS, TRANSFORM_OPS } from './options.js';
export type { FeatureSpecInput } from './options.js';
export type {
  FeatureSpec,
  FeatureDef,
  FeatureSource,
  FieldSource,
  AggregateSource,
  AggregateFn,
  Transform,
  TransformOp,
  EventForFeatures,
  FeatureInput,
} from './types.js';
