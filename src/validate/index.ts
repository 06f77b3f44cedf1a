export { validate } from './validate.js';
export type { Verdict, ValidateOptions } from './validate.js';
