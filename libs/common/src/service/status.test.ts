import { serviceState, type ServiceRecord } from './status';

const base: ServiceRecord = { host: 'h1', binary: 'ferry-compute', topic: 'compute', disabled: false, forced_down: false, last_seen_up: null };
const now = new Date('2026-01-01T00:01:00Z');

describe('serviceState', () => {
  it('is up with a heartbeat within the down time', () => {
    const s = serviceState({ ...base, last_seen_up: new Date('2026-01-01T00:00:50Z') }, now, 30);
    expect(s.state).toBe('up');
    expect(s.heartbeat_age_s).toBe(10);
  });
  it('is down when the heartbeat is older than the down time', () => {
    expect(serviceState({ ...base, last_seen_up: new Date('2026-01-01T00:00:29Z') }, now, 30).state).toBe('down');
  });
  it('is down when it never beat', () => {
    const s = serviceState(base, now, 30);
    expect(s.state).toBe('down');
    expect(s.heartbeat_age_s).toBeNull();
  });
  it('is down when forced down, however fresh its heartbeat', () => {
    expect(serviceState({ ...base, forced_down: true, last_seen_up: now }, now, 30).state).toBe('down');
  });
  it('treats a heartbeat slightly in the future (clock skew) as fresh', () => {
    expect(serviceState({ ...base, last_seen_up: new Date(now.getTime() + 500) }, now, 30)).toMatchObject({ state: 'up', heartbeat_age_s: 0 });
  });
});
