import type { BusEvent } from './bus-event';
import { CallPairing } from './call-pairing';

function event(over: Partial<BusEvent>): BusEvent {
  return {
    time: '2026-12-04T22:41:03.512Z', kind: 'call', sender: 'ferry-api:ctl', target: 'compute.compute-1', topic: 'compute',
    method: 'prep_resize', version: '5.1', instance: 'i-1', migration: null, request_id: 'req-1', msg_id: 'm-1', latency_ms: null, failure: null, ...over,
  };
}

const reply = (over: Partial<BusEvent> = {}) =>
  event({ kind: 'reply', sender: null, target: 'ferry_reply_abc', topic: '', method: null, version: null, instance: null, migration: null, request_id: null, ...over });

describe('pairing replies with their calls', () => {
  it('gives a reply its call\'s method, instance and request id, who answered whom, and the latency', () => {
    const pairing = new CallPairing();
    pairing.pair(event({ migration: 12 }), 1000);
    expect(pairing.pair(reply(), 1012.3456)).toMatchObject({
      migration: 12,
      kind: 'reply', sender: 'compute.compute-1', target: 'ferry-api:ctl', topic: 'compute', method: 'prep_resize', version: '5.1',
      instance: 'i-1', request_id: 'req-1', latency_ms: 12.346,
    });
    expect(pairing.size).toBe(0);
  });

  it('keeps the replying process when it said who it is, and leaves a reply to an unseen call as it is', () => {
    const pairing = new CallPairing();
    pairing.pair(event({}), 1000);
    expect(pairing.pair(reply({ sender: 'ferry-compute:compute-1' }), 1001).sender).toBe('ferry-compute:compute-1');
    expect(pairing.pair(reply({ msg_id: 'm-9' }), 1002)).toEqual(reply({ msg_id: 'm-9' }));
    // All services in one process: the process name says nothing about who answered, the server the call went to does.
    pairing.pair(event({ msg_id: 'm-3' }), 1003);
    expect(pairing.pair(reply({ msg_id: 'm-3', sender: 'ferry-api:ctl' }), 1004).sender).toBe('compute.compute-1');
  });

  it('forgets the oldest calls past its capacity or age', () => {
    const pairing = new CallPairing(2, 60_000);
    for (const [id, at] of [['a', 0], ['b', 1], ['c', 2]] as const) pairing.pair(event({ msg_id: id }), at);
    expect(pairing.size).toBe(2);
    expect(pairing.pair(reply({ msg_id: 'a' }), 3).latency_ms).toBeNull();
    pairing.pair(event({ msg_id: 'd' }), 100_000);
    expect(pairing.size).toBe(1);
  });
});
