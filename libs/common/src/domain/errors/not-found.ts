// The 404 family: something named in a request or a message does not exist (or is not visible to the caller).
import { FerryError } from './ferry-error';

export class NotFound extends FerryError {
  override readonly code: string = 'NotFound';
  override readonly httpStatus = 404;
}

export class InstanceNotFound extends NotFound {
  override readonly code = 'InstanceNotFound';
  static forId(instanceId: string): InstanceNotFound {
    return new InstanceNotFound(`Instance ${instanceId} could not be found.`, { instance_id: instanceId });
  }
}

export class FlavorNotFound extends NotFound {
  override readonly code = 'FlavorNotFound';
  static forId(flavorId: string): FlavorNotFound {
    return new FlavorNotFound(`Flavor ${flavorId} could not be found.`, { flavor_id: flavorId });
  }
}

export class ImageNotFound extends NotFound {
  override readonly code = 'ImageNotFound';
  static forId(imageId: string): ImageNotFound {
    return new ImageNotFound(`Image ${imageId} could not be found.`, { image_id: imageId });
  }
}

export class MigrationNotFound extends NotFound {
  override readonly code = 'MigrationNotFound';
  static forId(migrationId: number | string): MigrationNotFound {
    return new MigrationNotFound(`Migration ${migrationId} could not be found.`, { migration_id: migrationId });
  }
}

export class ComputeHostNotFound extends NotFound {
  override readonly code = 'ComputeHostNotFound';
  static forHost(host: string): ComputeHostNotFound {
    return new ComputeHostNotFound(`Compute host ${host} could not be found.`, { host });
  }
}
