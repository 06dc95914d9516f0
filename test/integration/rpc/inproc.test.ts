// The RPC conformance suite on the in-process transport.
import { createTransport } from '@ferry/common/rpc';
import { transportConformance } from './conformance';

transportConformance('in-process', () => ({
  // One bus per test: the URL names it.
  open: (prefix, log) => createTransport({ url: `inproc://${prefix}`, prefix, log }),
  cleanup: async () => undefined,
}));
