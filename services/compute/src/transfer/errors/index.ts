// The transfer layer's typed errors, all on the remote allow-list so they survive an RPC reply.
import { registerErrorTypes, type ErrorConstructor } from '@ferry/common/domain';
import { HostKeyChanged, HostKeyRejected, HostKeyUnknown } from './host-key-rejected';
import { TransferCancelled, TransferFailed } from './transfer-failed';

export * from './host-key-rejected';
export * from './transfer-failed';

export const TRANSFER_ERROR_TYPES: readonly ErrorConstructor[] = Object.freeze([
  TransferFailed, TransferCancelled, HostKeyRejected, HostKeyUnknown, HostKeyChanged,
]);

registerErrorTypes(...TRANSFER_ERROR_TYPES);
