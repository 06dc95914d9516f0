// The names os-services shows for Ferry's services: Nova's binaries, so operators' scripts and the CLIs work unchanged.
import { SCHEDULER_BINARY } from '@ferry/scheduler/client';
import { API_BINARY } from '../../binary';
import { COMPUTE_BINARY } from './service-rows';

/** Ferry's binary → the Nova binary that does its job. The services table keeps Ferry's names (`ferry status`). */
export const NOVA_BINARY_OF: Readonly<Record<string, string>> = Object.freeze({
  [COMPUTE_BINARY]: 'nova-compute',
  [SCHEDULER_BINARY]: 'nova-scheduler',
});

/** Services os-services does not list, as Nova hides its API services (nova-osapi_compute, nova-metadata). */
export const UNLISTED_BINARIES: readonly string[] = Object.freeze([API_BINARY]);

const FERRY_BINARY_OF: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(NOVA_BINARY_OF).map(([ferry, nova]) => [nova, ferry])),
);

/** The name a client sees for a service row's binary. */
export function novaBinary(ferryBinary: string): string {
  return NOVA_BINARY_OF[ferryBinary] ?? ferryBinary;
}

/** The services table's binary for a name a client sent: Nova's, or (tolerated) Ferry's own. */
export function ferryBinary(asked: string): string {
  return FERRY_BINARY_OF[asked] ?? asked;
}
