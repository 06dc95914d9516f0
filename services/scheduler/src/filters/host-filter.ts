// What a scheduler filter is: a named yes/no on one host for one request.
import type { Resources } from '@ferry/common/db';
import type { HostState } from '../host-state';
import type { RequestSpec } from '../client/rpcapi';

/** The request as filters see it: the spec, and the resources its flavor takes. */
export interface FilterRequest {
  spec: RequestSpec;
  resources: Resources;
}

export interface HostFilter {
  /** Nova's filter name, as it appears in logs and in the NoValidHost reason. */
  readonly name: string;
  passes(host: HostState, request: FilterRequest): boolean;
}
