export * from './service';
export * from './heartbeat';
export * from './info-endpoint';
export * from './lease';
export * from './rpc-service';
export * from './status';
export * from './binaries';
export * from './periodic-task';
