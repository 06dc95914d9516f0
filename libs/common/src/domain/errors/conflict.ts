// 409s: the request is well formed but clashes with the current state of the resource.
import { FerryError } from './ferry-error';

export class Conflict extends FerryError {
  override readonly code: string = 'Conflict';
  override readonly httpStatus = 409;
}

/** The instance's vm_state or task_state does not allow the action (Nova's InstanceInvalidState). */
export class InstanceInvalidState extends Conflict {
  override readonly code = 'InstanceInvalidState';
  static forAction(instanceId: string, action: string, attr: 'vm_state' | 'task_state', state: string | null): InstanceInvalidState {
    return new InstanceInvalidState(
      `Cannot '${action}' instance ${instanceId} while it is in ${attr} ${state ?? 'None'}`,
      { instance_id: instanceId, action, attr, state },
    );
  }
}
