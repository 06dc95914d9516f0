// Ferry's versioned notifications: Nova's event types and payloads, sent through the RPC transport's notifications exchange.
export type { NotificationHandler, NotificationMessage, NotificationPriority, NovaObject } from '../rpc/transport';
export { NOTIFY_TIMEOUT_MS } from '../rpc/transport';
export { Notifier, type PayloadSource } from './notifier';
export { withFault, withNotifications } from './with-notifications';
export { notifyMoveNotPlaced } from './move-not-placed';
export { EXCEPTION_PAYLOAD_VERSION, exceptionName, exceptionPayload, maskSecrets } from './exception-payload';
export {
  PAYLOAD_VERSIONS,
  flavorPayload,
  instanceActionPayload,
  novaTime,
  powerStateValue,
  rescuePayload,
  resizePrepPayload,
  type Initiator,
  type InstanceSnapshot,
} from './instance-payload';
export { NOVA_NAMESPACE, isNovaObject, novaObject, unwrapNovaObject, withData } from './nova-object';
