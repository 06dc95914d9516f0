// Driver failures: what a hypervisor operation reports when it cannot do what was asked.
import { FerryError } from '@ferry/common/domain';

export class DriverError extends FerryError {
  override readonly code: string = 'DriverError';
  override readonly httpStatus: number = 500;
}

/** The host has no VM for the instance. */
export class VmNotFound extends DriverError {
  override readonly code = 'VmNotFound';
  override readonly httpStatus = 404;
  static forUuid(uuid: string, host: string): VmNotFound {
    return new VmNotFound(`Instance ${uuid} could not be found on host ${host}.`, { instance_uuid: uuid, host });
  }
}

/** The host has no disk for the instance: its data is not here, and nothing may stand in for it (no new empty disk). */
export class DiskNotFound extends DriverError {
  override readonly code = 'DiskNotFound';
  override readonly httpStatus = 404;
}

/** The VM is in a state the operation cannot start from (e.g. pausing a VM that is shut down). */
export class VmInvalidState extends DriverError {
  override readonly code = 'VmInvalidState';
  override readonly httpStatus = 409;
}

/** A live migration's transfer was cancelled (abort, or the completion timeout's abort): the guest stays on the source. */
export class LiveMigrationCancelled extends DriverError {
  override readonly code = 'LiveMigrationCancelled';
}

/** A peer named a file outside the directory of the instance it is moving: nothing is written there. */
export class UnsafePeerPath extends DriverError {
  override readonly code = 'UnsafePeerPath';
}
