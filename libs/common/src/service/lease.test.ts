import { ConfigError } from '../config';
import { serviceLeaseSeconds, ServiceLeaseHeld } from './lease';

describe('serviceLeaseSeconds', () => {
  it('defaults to three heartbeats', () => {
    expect(serviceLeaseSeconds({ serviceLeaseSeconds: undefined, heartbeatSeconds: 5 })).toBe(15);
  });
  it('takes the setting when it outlasts a heartbeat', () => {
    expect(serviceLeaseSeconds({ serviceLeaseSeconds: 7, heartbeatSeconds: 5 })).toBe(7);
  });
  it('refuses a lease no longer than a heartbeat: it would be open between every two beats', () => {
    expect(() => serviceLeaseSeconds({ serviceLeaseSeconds: 5, heartbeatSeconds: 5 })).toThrow(ConfigError);
    expect(() => serviceLeaseSeconds({ serviceLeaseSeconds: 5, heartbeatSeconds: 5 })).toThrow(/FERRY_SERVICE_LEASE_SECONDS: must be longer than FERRY_HEARTBEAT_INTERVAL \(5 s\)/);
  });
});

describe('ServiceLeaseHeld', () => {
  it('names the holder and how long to wait for a dead one', () => {
    const err = new ServiceLeaseHeld('h1', 'ferry-compute', { pid: 42, machine: 'box', heartbeat_age_s: 1.4, expires_in_s: 13.2 });
    expect(err.message).toBe('host h1 is already served by another compute process (pid 42, on box, heartbeat 1 s ago); stop it first, or wait 14 s for its lease to expire if it died');
  });
});
