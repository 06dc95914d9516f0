// The versioned notifications a compute publishes around an instance operation (<event>.start, .end, .error).
import type { Instance } from '@ferry/common/db';
import { instanceActionPayload, withNotifications, type NovaObject } from '@ferry/common/notify';
import type { ComputeContext } from './compute-context';

/** Runs fn between `<event>.start` and `<event>.end` (or `.error`), with Nova's InstanceActionPayload unless given another. */
export function instanceNotification<T>(
  c: Pick<ComputeContext, 'notifier'>, event: string, instance: Instance, fn: () => Promise<T>, payload: () => NovaObject = () => instanceActionPayload(instance),
): Promise<T> {
  return withNotifications(c.notifier, event, payload, fn);
}
