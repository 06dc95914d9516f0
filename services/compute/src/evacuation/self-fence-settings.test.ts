import { ConfigError } from '@ferry/common/config';
import { selfFenceSeconds } from './self-fence-settings';

describe('selfFenceSeconds', () => {
  it('defaults to two thirds of the service down time', () => {
    expect(selfFenceSeconds({ selfFenceSeconds: undefined, serviceDownSeconds: 30, heartbeatSeconds: 5 })).toBe(20);
  });

  it('takes a setting between one heartbeat and the down time', () => {
    expect(selfFenceSeconds({ selfFenceSeconds: 12, serviceDownSeconds: 30, heartbeatSeconds: 5 })).toBe(12);
  });

  it('refuses a fence no shorter than the down time, or no longer than a heartbeat, naming the variable', () => {
    expect(() => selfFenceSeconds({ selfFenceSeconds: 30, serviceDownSeconds: 30, heartbeatSeconds: 5 })).toThrow(ConfigError);
    expect(() => selfFenceSeconds({ selfFenceSeconds: 30, serviceDownSeconds: 30, heartbeatSeconds: 5 })).toThrow(/FERRY_SELF_FENCE_AFTER.*shorter than FERRY_SERVICE_DOWN_TIME/);
    expect(() => selfFenceSeconds({ selfFenceSeconds: 5, serviceDownSeconds: 30, heartbeatSeconds: 5 })).toThrow(/longer than FERRY_HEARTBEAT_INTERVAL/);
    expect(() => selfFenceSeconds({ selfFenceSeconds: undefined, serviceDownSeconds: 6, heartbeatSeconds: 5 })).toThrow(/FERRY_SELF_FENCE_AFTER/);
  });
});
