// Placement attempts shared by the scheduler and the computes that retry a placement on an alternate host.
export * from './attempts';
export * from './scheduler-writes';
export * from './placement-snapshot';
