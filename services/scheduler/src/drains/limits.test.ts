import { MoveBudget } from './limits';

const GIB = 1024 * 1024 * 1024;
const limits = { perCluster: 5, linkBandwidth: 2.5 * GIB };
const live = (source: string, perHost = 2, bandwidth = GIB) => ({ source, perHost, live: true, bandwidth });
const cold = (source: string, perHost = 2) => ({ source, perHost, live: false, bandwidth: 0 });

describe('MoveBudget', () => {
  it('admits at most perHost moves leaving one host', () => {
    const b = new MoveBudget(limits, []);
    expect([b.tryAdmit(cold('a')), b.tryAdmit(cold('a')), b.tryAdmit(cold('a'))]).toEqual([true, true, false]);
    expect(b.tryAdmit(cold('b'))).toBe(true);
  });

  it('counts moves already under way, whoever started them, against both limits', () => {
    const b = new MoveBudget(limits, ['a', 'b', 'c', 'd'].map((s) => ({ source: s, live: false, bandwidth: 0 })));
    expect(b.tryAdmit(cold('a', 2))).toBe(true);
    expect(b.tryAdmit(cold('e', 2))).toBe(false);
  });

  it('keeps the live migrations leaving a host within its link, but always lets one go', () => {
    const b = new MoveBudget({ ...limits, linkBandwidth: GIB / 2 }, []);
    expect(b.tryAdmit(live('a', 4))).toBe(true);
    expect(b.tryAdmit(live('a', 4))).toBe(false);
    expect(b.tryAdmit(cold('a', 4))).toBe(true);
  });

  it('counts each live migration at its own bandwidth', () => {
    const b = new MoveBudget({ ...limits, perCluster: 100 }, []);
    expect([1, 2, 3, 4].map(() => b.tryAdmit(live('a', 10, GIB / 4)))).toEqual([true, true, true, true]);
    expect(b.tryAdmit(live('a', 10))).toBe(true);
    expect(b.tryAdmit(live('a', 10))).toBe(false);
  });
});
