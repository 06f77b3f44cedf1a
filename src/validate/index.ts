export { validate } from './validate.js';
export type { Verdict, ValidateOptions } from './validate.js';
export { compileCheck } from './check.js';
export type { CheckSpec, RecordCheck } from './check.js';
export { contractPath, contractSchema, defaultContract, loadContract, parseContract } from './contract.js';
export type { Contract, FieldRule } from './contract.js';
export { recordFields, rowFields } from './shape.js';
export type { DeclaredField, ValueKind } from './shape.js';
export { timeProblem } from './time.js';
