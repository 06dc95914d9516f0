// Ferry's domain rules as data: migration state machines, instance states, the API status mapping, typed errors.
export * from './errors';
export * from './migration-statuses';
export * from './migration-machines';
export * from './migration-rules';
export * from './migration-recovery';
export * from './instance-states';
export * from './api-status';
export * from './guest-name';
export * from './request-spec';
export * from './live-migration-data';
export * from './migration-policy';
export * from './evacuation-data';
export * from './request-spec-schema';
export * from './move-on-delete';
export * from './host-drain';
export * from './host-drain-progress';
export * from './uuid';
