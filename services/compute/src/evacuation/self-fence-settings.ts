// How long a compute may go without a heartbeat before it fences itself, checked against the service down time.
import { ConfigError, type FerryConfig } from '@ferry/common/config';

/**
 * The setting, or two thirds of the down time. It must be shorter than the down time (the guests are paused before
 * anyone may call the host down and evacuate it) and longer than one heartbeat (one slow beat must not pause them).
 */
export function selfFenceSeconds(config: Pick<FerryConfig, 'selfFenceSeconds' | 'serviceDownSeconds' | 'heartbeatSeconds'>): number {
  const seconds = config.selfFenceSeconds ?? Math.max(1, Math.floor((2 * config.serviceDownSeconds) / 3));
  if (seconds >= config.serviceDownSeconds) {
    throw new ConfigError('FERRY_SELF_FENCE_AFTER', `must be shorter than FERRY_SERVICE_DOWN_TIME (${config.serviceDownSeconds} s), got ${seconds}`);
  }
  if (seconds <= config.heartbeatSeconds) {
    throw new ConfigError('FERRY_SELF_FENCE_AFTER', `must be longer than FERRY_HEARTBEAT_INTERVAL (${config.heartbeatSeconds} s), got ${seconds}`);
  }
  return seconds;
}
