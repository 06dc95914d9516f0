// LocalTransfer against the transfer conformance suite.
import { LocalTransfer } from '@ferry/compute/transfer';
import { transferConformance } from './conformance';

transferConformance('local', async () => ({
  destHost: 'compute-2',
  make: (tuning = {}) => new LocalTransfer(tuning),
  cleanup: async () => undefined,
}));
