import { expandHostList, HostListError, MAX_HOSTS } from './host-list';

describe('expandHostList', () => {
  it('expands a zero-padded range keeping its width', () => {
    const hosts = expandHostList('sim-[0998-1001]');
    expect(hosts).toEqual(['sim-0998', 'sim-0999', 'sim-1000', 'sim-1001']);
  });

  it('mixes plain names and ranges, with a suffix after the range', () => {
    expect(expandHostList('edge, rack[1-3].dc1')).toEqual(['edge', 'rack1.dc1', 'rack2.dc1', 'rack3.dc1']);
  });

  it.each([
    ['sim-[5-2]', /5 is above 2/],
    ['a,b,a', /host a is named twice/],
    ['sim [1-2]', /is not a host name/],
    [' , ', /empty/],
    [`h[1-${MAX_HOSTS + 1}]`, /more than/],
  ])('refuses %s', (list, message) => {
    expect(() => expandHostList(list)).toThrow(HostListError);
    expect(() => expandHostList(list)).toThrow(message);
  });
});
