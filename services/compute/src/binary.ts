// The compute service's name in the services table (the scheduler's ComputeFilter looks for the same).
export { COMPUTE_BINARY } from '@ferry/common/service';
