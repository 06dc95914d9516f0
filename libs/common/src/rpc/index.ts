// Ferry's RPC: oslo.messaging's model (targets, versioned endpoints, call/cast/fanout) over AMQP or in-process.
export { contextFromWire, newRequestContext, type RequestContext } from './context';
export { describeTarget, makeTarget, type ServerTarget, type Target, type TargetOverrides } from './target';
export type { ArgsOf, EndpointTarget, MethodNames, ResultOf } from './endpoint';
export {
  argsSchema,
  defineContract,
  HostNameSchema,
  NoArgsSchema,
  RowIdSchema,
  served,
  UuidSchema,
  type RpcContract,
  type ServedEndpoint,
} from './contract';
export type { Envelope, Reply } from './envelope';
export {
  InvalidRpcArguments,
  MalformedMessage,
  MessageUndeliverable,
  MessagingTimeout,
  MessagingUnavailable,
  NoSuchMethod,
  RemoteError,
  RpcVersionCapped,
  UnsupportedVersion,
} from './errors';
export { PinnedClient, type PinnedClientOptions, type VersionPins } from './pinned-client';
export { pinProblems, versionsInHistory } from './version-history';
export type { IncomingMessage, ListenOptions, Listener, MessageHandler, Transport, TransportState } from './transport';
export { NOTIFY_TIMEOUT_MS } from './transport';
export type { NotificationHandler, NotificationMessage, NotificationPriority, NovaObject } from './transport';
export { createTransport, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_INPROC_URL, type TransportOptions } from './create-transport';
export type { BackoffOptions } from './amqp/backoff';
export { redactUrl } from './amqp/url';
export { CallContext, DEFAULT_TIMEOUT_MS, RpcClient, type PrepareOptions, type RpcClientOptions } from './client';
export { DEFAULT_CONCURRENCY, RpcServer, type RpcServerOptions } from './server';
export { NOTIFICATION_TOPIC, topologyNames, type TopologyNames } from './names';
export {
  checkTailFilter, describeTapped, FILTER_KEYS, hostOf, matchesTailFilter, startBusTail, TailMonitor,
  type BusEvent, type BusEventKind, type BusFailure, type BusTail, type BusTailFilter, type BusTailOptions, type BusTap, type TailNotice,
  type TapHandler, type TapOptions, type TappedMessage, type TapStats,
} from './tap';
export { TAP_MAX_BACKLOG } from './amqp/tap';
