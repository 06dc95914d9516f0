// A copy that did not complete: it failed, or it was cancelled. A whole-file copy then leaves nothing at its destination path.
import { FerryError } from '@ferry/common/domain';

/** Reading the source, reaching the destination or writing there failed; repeating the copy may succeed. */
export class TransferFailed extends FerryError {
  override readonly code = 'TransferFailed';
  override readonly retryable = true;

  static because(what: string, cause: unknown, details?: Record<string, unknown>): TransferFailed {
    const reason = messageOf(cause);
    const err = new TransferFailed(`${what}: ${reason}`, { ...details, reason });
    err.cause = cause;
    return err;
  }
}

/** The copy was cancelled through its AbortSignal (a migration abort, a service stopping). */
export class TransferCancelled extends FerryError {
  override readonly code = 'TransferCancelled';
  override readonly httpStatus = 409;
}

/** The message of an error from any realm (Node's own errors fail instanceof Error inside a vm context). */
function messageOf(cause: unknown): string {
  const message = (cause as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(cause);
}
