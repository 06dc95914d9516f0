// @ferry/scheduler/client: what a caller of the scheduler topic needs (the RPC stub and its contract). It loads no
// placement, drain or reconciler code.
export * from './rpcapi';
export { SCHEDULER_CONTRACT } from './rpc-contract';
export { SCHEDULER_BINARY } from '@ferry/common/service';
