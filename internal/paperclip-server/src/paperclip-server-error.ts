const marker = Symbol.for('claude-k8s.paperclip-server.error');

/** Base class of every error thrown by the Paperclip server harness. */
export class PaperclipServerError extends Error {
  readonly [marker] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PaperclipServerError';
  }

  /** True for any harness error, even from a second copy of this package (`instanceof` would miss those). */
  static isInstance(value: unknown): value is PaperclipServerError {
    return typeof value === 'object' && value !== null && marker in value;
  }
}

/** A port the caller asked for (or one we picked) is already bound by another process. */
export class PortInUseError extends PaperclipServerError {
  readonly port: number;
  readonly purpose: string;

  constructor(port: number, purpose: string) {
    super(
      `start paperclip: ${purpose} port 127.0.0.1:${port}: in use by another process (a stale server? see \`ss -ltnp 'sport = :${port}'\`)`,
    );
    this.name = 'PortInUseError';
    this.port = port;
    this.purpose = purpose;
  }
}

/** A Paperclip HTTP API call answered with a non-2xx status. */
export class PaperclipApiError extends PaperclipServerError {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: unknown;

  constructor(method: string, path: string, status: number, statusText: string, body: unknown) {
    const detail = typeof body === 'string' ? body : JSON.stringify(body);
    super(`${method} ${path}: ${status}${statusText ? ` ${statusText}` : ''}: ${detail.slice(0, 500)}`);
    this.name = 'PaperclipApiError';
    this.method = method;
    this.path = path;
    this.status = status;
    this.body = body;
  }
}
