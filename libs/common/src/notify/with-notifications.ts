// withNotifications: wraps one action in Nova's <action>.start / .end / .error notifications.
import type { NovaObject } from '../rpc/transport';
import { exceptionPayload } from './exception-payload';
import { withData } from './nova-object';
import type { Notifier } from './notifier';

/**
 * Emits `<eventPrefix>.start`, runs fn, then `<eventPrefix>.end`, or `<eventPrefix>.error` at ERROR with the
 * fault when fn throws (rethrown). payload is built anew for each notification, so .end shows the state fn left.
 * Each notification is awaited, bounded by the transport's notify timeout, so a tap sees them in order.
 */
export async function withNotifications<T>(
  notifier: Notifier,
  eventPrefix: string,
  payload: () => NovaObject,
  fn: () => Promise<T> | T,
): Promise<T> {
  await notifier.info(`${eventPrefix}.start`, payload);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await notifier.error(`${eventPrefix}.error`, () => withFault(payload(), err));
    throw err;
  }
  await notifier.info(`${eventPrefix}.end`, payload);
  return result;
}

/** payload with err as its `fault`, the way Nova fills InstanceActionPayload.fault on an .error. */
export function withFault(payload: NovaObject, err: unknown): NovaObject {
  return withData(payload, { fault: exceptionPayload(err) });
}
