export { Pipeline } from './pipeline.js';
export type { PipelineOptions } from './pipeline.js';
export type { WindowResult } from './process-window.js';
export { inputConsumerOptions } from './consumer-options.js';
