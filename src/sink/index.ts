export { RedisSink, fenceError } from './sink.js';
export { RUN_CHECK } from './scripts.js';
export type { SinkOptions, StateWrite, WriteResult, MarkerUpdate } from './sink.js';
export { entityKeys, committedKey, PREDICTION_FIELDS } from './keys.js';
export type { EntityKeys, PredictionField } from './keys.js';
export {
  float32Text,
  predictionJsonHead,
  predictionHashFields,
  parseStoredPrediction,
} from './prediction.js';
export type { StoredPrediction } from './prediction.js';
export { EMPTY_STATE, applyWork, profileText, project, withVersions } from './state.js';
export {
  decodeState,
  decodeStateHash,
  encodeEvents,
  encodeHeader,
  eventFieldWrites,
  triggerText,
} from './stored-state.js';
export type { EntityState, ProfileWrite, StateChange, StateFields } from './state.js';
export type { PredictionRecord, ModelStamp } from './types.js';
export { EpochStore, epochKey, newEpochId, rebuildToken, spreadFence } from './epoch.js';
export { FenceLayout, slotOf, slotTags, SLOT_COUNT } from './slots.js';
export type { EpochView } from './epoch.js';
