// How an error reaches an OpenStack client: {"<fault name>": {"code": N, "message": "..."}}, named as Nova names them.
import { FerryError } from './ferry-error';

/**
 * HTTP status → fault name, as Nova's wsgi Fault names them. Statuses missing here (406 among them:
 * Nova answers an unsupported microversion with a computeFault) fall back to DEFAULT_FAULT_NAME.
 */
export const OPENSTACK_FAULT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
});

export const DEFAULT_FAULT_NAME = 'computeFault';

/** Said instead of the real message when an unexpected (untyped) error reaches the API. */
export const UNEXPECTED_ERROR_MESSAGE = 'Unexpected API Error. Please check the Ferry API log for details.';

export interface OpenStackFault {
  code: number;
  message: string;
}

export type OpenStackErrorBody = Record<string, OpenStackFault>;

export function openstackFaultName(httpStatus: number): string {
  return OPENSTACK_FAULT_NAMES[httpStatus] ?? DEFAULT_FAULT_NAME;
}

/** The HTTP status an error is answered with: its own for a FerryError, 500 for anything else. */
export function httpStatusOf(err: unknown): number {
  return err instanceof FerryError ? err.httpStatus : 500;
}

/** The response body for err. Untyped errors keep their message out of the response (it may carry internals). */
export function openstackErrorBody(err: unknown): OpenStackErrorBody {
  const code = httpStatusOf(err);
  const message = err instanceof FerryError ? err.message : UNEXPECTED_ERROR_MESSAGE;
  return { [openstackFaultName(code)]: { code, message } };
}
