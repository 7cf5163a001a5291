import type { ErrorCode } from '../error-codes.ts';

/** Why a run cannot be built (an expected failure, returned as a value; `execute` reports it as the run's error). */
export interface InvocationFailure {
  success: false;
  code: ErrorCode;
  message: string;
}
