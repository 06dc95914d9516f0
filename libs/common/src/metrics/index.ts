// Prometheus metrics: the process registry, what the RPC layer and the reconcilers count into it, and its listener.
export { collectProcessDefaults, METRICS_CONTENT_TYPE, processMetrics, scrapeProcessMetrics } from './registry';
export { countRpcRefusal, timeRpc, type RpcKind, type RpcLabels, type RpcSide } from './rpc-metrics';
export { countReconcilerAction, countReconcilerPass, type ReconcilerName, type ReconcilerOutcome } from './reconciler-metrics';
export { METRICS_PATH, startMetricsListener, type MetricsListener, type MetricsListenerOptions } from './listener';
export { countLivenessWrite, livenessWrites, type LivenessWrite } from './liveness-metrics';
