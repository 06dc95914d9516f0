import { topologyNames } from './names';
import { makeTarget } from './target';

describe('topology names', () => {
  const names = topologyNames('p_');

  it('names the call lanes of a topic and of one server apart from their cast queues, under the same routing keys', () => {
    expect(names.callQueueFor({ topic: 'compute' })).toBe('p_compute:call');
    expect(names.callQueueFor({ topic: 'compute', server: 'compute-1' })).toBe('p_compute:call.compute-1');
    expect(names.queueFor({ topic: 'compute', server: 'compute-1' })).toBe('p_compute.compute-1');
    expect(names.callExchange).toBe('p_ferry_call');
  });

  it.each(['call', 'h1.call', 'call.h1', 'h1:call', ':call.h1'])('never gives a call lane the name of a cast queue, even of a server called %s', (server) => {
    const targets = [{ topic: 'compute' }, { topic: 'compute', server }, { topic: 'compute', server: 'h1' }].map(makeTarget);
    const castQueues = new Set(targets.map((t) => names.queueFor(t)));
    for (const t of targets) expect(castQueues.has(names.callQueueFor(t))).toBe(false);
  });
});
