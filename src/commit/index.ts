export { commitWindow } from './commit.js';
export type { CommitRequest, CrashPointName, OutputBatch, TransactionPhase } from './commit.js';
