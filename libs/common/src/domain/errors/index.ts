// Ferry's typed errors: each a FerryError with a stable code and HTTP status, all on the remote allow-list.
import { registerErrorTypes, type ErrorConstructor } from './catalog';
import { NotAuthenticated, Forbidden } from './auth';
import { BadRequest, InvalidInput } from './bad-request';
import { Conflict, InstanceInvalidState } from './conflict';
import { InvalidTransition } from './invalid-transition';
import { NotAcceptable } from './not-acceptable';
import { ComputeHostNotFound, FlavorNotFound, ImageNotFound, InstanceNotFound, MigrationNotFound, NotFound } from './not-found';
import { MigrationPreCheckError, NoValidHost } from './scheduling';
import { ServiceUnavailable } from './service-unavailable';
import { TooManyRequests } from './too-many-requests';

export { FerryError, type FailurePayload } from './ferry-error';
export { registerErrorTypes, errorTypeFor, type ErrorConstructor } from './catalog';
export * from './auth';
export * from './bad-request';
export * from './conflict';
export * from './invalid-transition';
export * from './not-acceptable';
export * from './not-found';
export * from './scheduling';
export * from './service-unavailable';
export * from './too-many-requests';
export * from './openstack-body';

/** Every error class this module defines, in the order they are registered. */
export const DOMAIN_ERROR_TYPES: readonly ErrorConstructor[] = Object.freeze([
  InvalidTransition,
  NotFound, InstanceNotFound, FlavorNotFound, ImageNotFound, MigrationNotFound, ComputeHostNotFound,
  BadRequest, InvalidInput,
  Conflict, InstanceInvalidState,
  NotAuthenticated, Forbidden, TooManyRequests,
  NotAcceptable,
  NoValidHost, MigrationPreCheckError,
  ServiceUnavailable,
]);

registerErrorTypes(...DOMAIN_ERROR_TYPES);
