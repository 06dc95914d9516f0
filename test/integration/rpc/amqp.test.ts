// The RPC conformance suite on RabbitMQ.
import { createTransport } from '@ferry/common/rpc';
import { deleteRpcTopology, testTransportUrl } from '../../support/amqp';
import { transportConformance } from './conformance';

const url = testTransportUrl();

transportConformance('AMQP', () => ({
  open: (prefix, log) => createTransport({ url, prefix, log }),
  cleanup: (topology) => deleteRpcTopology(url, topology),
}));
