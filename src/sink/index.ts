export { RedisSink, predictionHashFields, float32Text } from './sink.js';
export { entityKeys, committedKey, PREDICTION_FIELDS } from './keys.js';
export type { EntityKeys, PredictionField } from './keys.js';
export type { AppliedState, PredictionRecord, ModelStamp } from './types.js';
