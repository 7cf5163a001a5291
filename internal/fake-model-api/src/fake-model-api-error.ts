const marker = Symbol.for('claude-k8s.fake-model-api.error');

/** Base class of every error thrown by the fake Messages API (bad options, a server that cannot listen). */
export class FakeModelApiError extends Error {
  readonly [marker] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FakeModelApiError';
  }

  /** True for any fake-model-api error, even from a second copy of this package (`instanceof` would miss those). */
  static isInstance(value: unknown): value is FakeModelApiError {
    return typeof value === 'object' && value !== null && marker in value;
  }
}
