export { commitWindow } from './commit.js';
export type { CommitRequest, CrashPointName, OutputBatch } from './commit.js';
