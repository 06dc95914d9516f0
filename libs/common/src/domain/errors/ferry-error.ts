// The base of every typed Ferry error: a stable string code, an HTTP status, and whether a retry may help.

export interface FailurePayload {
  /** Stable error code, e.g. "InstanceNotFound"; the allow-list key when rebuilt across RPC. */
  type: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

export class FerryError extends Error {
  /** Stable string code; subclasses override. */
  readonly code: string = 'FerryError';
  /** HTTP status the API answers with when this error reaches it. */
  readonly httpStatus: number = 500;
  readonly retryable: boolean = false;
  readonly details?: Record<string, unknown>;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }

  toFailure(): FailurePayload {
    return { type: this.code, message: this.message, retryable: this.retryable, ...(this.details ? { details: this.details } : {}) };
  }
}
