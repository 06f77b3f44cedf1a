export { loadModel } from './load.js';
export {
  modelManifestSchema,
  loadModelOptionsSchema,
  DEFAULT_LOAD_OPTIONS,
  MODEL_JSON,
  MODEL_ONNX,
} from './options.js';
export type {
  ModelRef,
  ModelManifest,
  ModelSemantics,
  Threshold,
  Distribution,
  ReferenceDistributions,
  EvalMetrics,
  ModelRunner,
  LoadedModel,
  LoadModelOptions,
} from './types.js';
