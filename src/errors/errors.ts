import type { DlqReason, ErrorCode } from './codes.js';

export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface StreamscoreErrorOptions {
  readonly retriable?: boolean;
  readonly cause?: unknown;
  readonly position?: RecordPosition;
  /** Free-form, log-safe context (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base class for every failure streamscore raises on purpose. */
export class StreamscoreError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly position: RecordPosition | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: StreamscoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamscoreError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.position = options.position;
    this.details = options.details;
  }
}

/**
 * A poison record is a signal, not a failure of the pipeline: the record is routed to the DLQ with this
 * code and reason, and the partition keeps moving.
 */
export class RecordRejected extends StreamscoreError {
  declare readonly code: DlqReason;
  constructor(code: DlqReason, message: string, options: StreamscoreErrorOptions = {}) {
    super(code, message, { ...options, retriable: false });
    this.name = 'RecordRejected';
  }
}

/** Programming errors are never retried. */
export function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError;
}

export function isStreamscoreError(err: unknown): err is StreamscoreError {
  return err instanceof StreamscoreError;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
