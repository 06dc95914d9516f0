import type { BusEvent } from './bus-event';
import { TailMonitor } from './bus-tail';
import { checkTailFilter, hostOf, matchesTailFilter } from './tail-filter';

const UUID = '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10';

function event(over: Partial<BusEvent> = {}): BusEvent {
  return {
    time: '2026-12-04T22:41:03.512Z', kind: 'call', sender: 'ferry-api:ctl', target: 'compute.compute-1', topic: 'compute',
    method: 'prep_resize', version: '5.1', instance: UUID, migration: null, request_id: 'req-1', msg_id: 'm-1', latency_ms: null, failure: null, ...over,
  };
}

describe('bus tail filters', () => {
  it('keeps what matches every condition', () => {
    expect(matchesTailFilter(event(), {})).toBe(true);
    expect(matchesTailFilter(event(), { topic: 'compute', method: 'prep_resize', instance: UUID, request_id: 'req-1' })).toBe(true);
    expect(matchesTailFilter(event(), { topic: 'scheduler' })).toBe(false);
    expect(matchesTailFilter(event(), { method: 'resize_instance' })).toBe(false);
    expect(matchesTailFilter(event({ instance: null }), { instance: UUID })).toBe(false);
    expect(matchesTailFilter(event(), { request_id: 'req-2' })).toBe(false);
  });

  it('matches a host as sender or as target', () => {
    expect(matchesTailFilter(event(), { host: 'compute-1' })).toBe(true);
    expect(matchesTailFilter(event(), { host: 'ctl' })).toBe(true);
    expect(matchesTailFilter(event(), { host: 'compute-2' })).toBe(false);
    expect([hostOf('ferry-compute:compute-1'), hostOf('compute.compute-1'), hostOf('compute (fanout)'), hostOf('scheduler'), hostOf(null)])
      .toEqual(['compute-1', 'compute-1', undefined, undefined, undefined]);
  });

  it('refuses a filter naming a bad value, saying which', () => {
    expect(checkTailFilter({ instance: UUID.toUpperCase(), topic: 'compute', other: 'ignored' })).toEqual({ instance: UUID, topic: 'compute' });
    expect(() => checkTailFilter({ instance: 'vm1' })).toThrow('instance must be a UUID, got "vm1"');
    expect(() => checkTailFilter({ host: ' ' })).toThrow('host must be a non-empty string');
  });
});

describe('bus tail monitor', () => {
  it('says once when the tail falls behind, once when it catches up, and every drop', () => {
    const monitor = new TailMonitor(1000);
    expect(monitor.update({ waiting: 10, dropped: 0 })).toEqual([]);
    expect(monitor.update({ waiting: 5000, dropped: 0 })).toEqual([{ kind: 'behind', waiting: 5000 }]);
    expect(monitor.update({ waiting: 4000, dropped: 0 })).toEqual([]);
    expect(monitor.update({ waiting: 100, dropped: 30 })).toEqual([{ kind: 'dropped', count: 30, total: 30 }, { kind: 'caught_up', waiting: 100 }]);
    expect(monitor.update({ waiting: 0, dropped: 30 })).toEqual([]);
  });
});
