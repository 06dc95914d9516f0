// Each service's name in the services table: what heartbeats write, and what the scheduler, the API and the
// commands look for.
export const API_BINARY = 'ferry-api';
export const SCHEDULER_BINARY = 'ferry-scheduler';
export const COMPUTE_BINARY = 'ferry-compute';
