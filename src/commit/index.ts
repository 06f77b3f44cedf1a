export { commitWindow } from './commit.js';
export type { CommitRequest, OutputBatch } from './commit.js';
