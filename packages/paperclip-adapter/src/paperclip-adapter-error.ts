import type { ErrorCode } from './error-codes.ts';

const MARKER = Symbol.for('claude-k8s.paperclip-adapter.error');

/** Base error of the adapter. `isInstance` works across duplicate installs, unlike `instanceof`. */
export class PaperclipAdapterError extends Error {
  readonly [MARKER] = true;
  override readonly name: string = 'PaperclipAdapterError';
  /** Stable error code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static isInstance(value: unknown): value is PaperclipAdapterError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}
