// The RPC layer's own failures, each with a stable code and on the allow-list so they survive a hop.
import { registerErrorTypes } from '../domain/errors/catalog';
import { FerryError, type FailurePayload } from '../domain/errors/ferry-error';
import { describeTarget, type Target } from './target';

/** No reply within the call's timeout; the server may still be working on it. */
export class MessagingTimeout extends FerryError {
  override readonly code: string = 'MessagingTimeout';
  override readonly httpStatus: number = 504;
  override readonly retryable: boolean = true;
}

/** The message broker cannot be reached, or the connection was lost while waiting for a reply. */
export class MessagingUnavailable extends FerryError {
  override readonly code: string = 'MessagingUnavailable';
  override readonly httpStatus: number = 503;
  override readonly retryable: boolean = true;
}

/** No endpoint of the server implements the requested version (different major or older minor). */
export class UnsupportedVersion extends FerryError {
  override readonly code: string = 'UnsupportedVersion';
}

/** No endpoint of the server has a callable method of that name. */
export class NoSuchMethod extends FerryError {
  override readonly code: string = 'NoSuchMethod';
}

/** A method's args that its contract's schema refuses; the handler never ran. */
export class InvalidRpcArguments extends FerryError {
  override readonly code: string = 'InvalidRpcArguments';
  override readonly httpStatus: number = 400;
}

/** A call or cast no queue takes: nobody ever listened on its routing key (e.g. a host that never ran). */
export class MessageUndeliverable extends FerryError {
  override readonly code: string = 'MessageUndeliverable';
  override readonly httpStatus: number = 503;
}

/** A message or reply that is not a well-formed envelope. */
export class MalformedMessage extends FerryError {
  override readonly code: string = 'MalformedMessage';
}

/** A remote failure whose type is not on the allow-list: carries the remote type and message as data. */
export class RemoteError extends FerryError {
  override readonly code: string = 'RemoteError';
  override readonly retryable: boolean;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message, details);
    this.retryable = details?.remote_retryable === true;
  }

  /** The error type reported by the remote side, e.g. "TypeError". */
  get remoteType(): string {
    return typeof this.details?.remote_type === 'string' ? this.details.remote_type : 'Error';
  }

  static fromFailure(failure: FailurePayload): RemoteError {
    return new RemoteError(`${failure.type}: ${failure.message}`, {
      ...(failure.details ?? {}),
      remote_type: failure.type,
      remote_message: failure.message,
      remote_retryable: failure.retryable,
    });
  }
}

/** A message a client may not send: its method needs a newer version than the topic's upgrade-level cap allows. */
export class RpcVersionCapped extends FerryError {
  override readonly code: string = 'RpcVersionCapped';
  override readonly httpStatus: number = 409;
}

registerErrorTypes(
  MessagingTimeout, MessagingUnavailable, UnsupportedVersion, NoSuchMethod, InvalidRpcArguments, MessageUndeliverable, MalformedMessage, RemoteError,
  RpcVersionCapped,
);

export function callTimedOut(target: Target, method: string, timeoutMs: number): MessagingTimeout {
  return new MessagingTimeout(`Timed out after ${timeoutMs} ms waiting for a reply to ${method} on ${describeTarget(target)}`, {
    topic: target.topic,
    ...(target.server !== undefined ? { server: target.server } : {}),
    method,
    timeout_ms: timeoutMs,
  });
}

export function undeliverable(target: Target, method: string, routingKey: string): MessageUndeliverable {
  return new MessageUndeliverable(`No queue takes ${method} to ${describeTarget(target)} (routing key ${routingKey}): nothing ever listened there`, {
    topic: target.topic,
    ...(target.server !== undefined ? { server: target.server } : {}),
    method,
    routing_key: routingKey,
  });
}
