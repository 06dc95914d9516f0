import type { BusEvent } from '@ferry/common/rpc';
import { formatEvent, formatNotice } from './bus-tail-view';

const UUID = '0b4a3c2d-1111-4222-8333-944455556666';

function event(over: Partial<BusEvent>): BusEvent {
  return {
    time: '2026-12-04T22:41:03.512Z', kind: 'call', sender: 'ferry-api:ctl', target: 'compute.compute-1', topic: 'compute',
    method: 'prep_resize', version: '5.1', instance: UUID, migration: null, request_id: 'req-1', msg_id: 'm-1', latency_ms: null, failure: null, ...over,
  };
}

describe('how ferry bus tail prints messages', () => {
  it('shows time, kind, sender → target, method and version, instance and request id', () => {
    expect(formatEvent(event({}))).toBe(`22:41:03.512  call          ferry-api:ctl → compute.compute-1  prep_resize v5.1  instance ${UUID}  req-1`);
  });

  it('shows a reply with its latency, and a failure in red on a terminal', () => {
    const reply = event({ kind: 'reply', sender: 'ferry-compute:compute-1', target: 'ferry-api:ctl', latency_ms: 12.345, failure: { type: 'InstanceNotFound', message: 'gone' } });
    expect(formatEvent(reply)).toContain('ferry-compute:compute-1 → ferry-api:ctl  prep_resize v5.1  12.3 ms  instance');
    expect(formatEvent(reply)).toMatch(/FAILED InstanceNotFound: gone$/);
    expect(formatEvent(reply, true)).toContain('\x1b[1;31mFAILED InstanceNotFound: gone\x1b[0m');
    expect(formatEvent(event({}), true)).not.toContain('\x1b[1;31m');
  });

  it('names the migration a message is about by id', () => {
    expect(formatEvent(event({ kind: 'cast', method: 'resize_instance', instance: null, migration: 12, request_id: null }))).toBe(
      '22:41:03.512  cast          ferry-api:ctl → compute.compute-1  resize_instance v5.1  migration 12',
    );
  });

  it('says what an unknown sender or method is', () => {
    expect(formatEvent(event({ kind: 'cast', sender: null, method: null, version: null, instance: null, request_id: null }))).toBe(
      '22:41:03.512  cast          ? → compute.compute-1  ?',
    );
  });

  it('says on stderr when it falls behind, catches up or loses messages', () => {
    expect(formatNotice({ kind: 'behind', waiting: 23_400 })).toBe('ferry bus tail: falling behind the bus: 23,400 messages waiting for the tail');
    expect(formatNotice({ kind: 'dropped', count: 512, total: 1024 })).toMatch(/512 messages dropped .*\(1,024 in all\)/);
  });
});
