import { loadConfig } from '../config';
import { CRASH_POINTS, CRASH_POINT_NAMES, CrashCounter, parseCrashPoints } from './crash-points';

describe('crash points', () => {
  it('parses a point, a host and a pass count', () => {
    expect(parseCrashPoints('cold.source.after_pass1')).toEqual([{ point: 'cold.source.after_pass1', pass: 1 }]);
    expect(parseCrashPoints('live.dest.after_takeover@cmp-b#3, api.accept.before_cast')).toEqual([
      { point: 'live.dest.after_takeover', host: 'cmp-b', pass: 3 },
      { point: 'api.accept.before_cast', pass: 1 },
    ]);
    expect(parseCrashPoints('')).toEqual([]);
    expect(parseCrashPoints(' , ')).toEqual([]);
  });

  it.each([
    ['no.such.point', /unknown crash point "no.such.point"/],
    ['cold.source.after_pass1#0', /starts at 1/],
    ['cold.source.after_pass1#x', /expected <point>/],
    ['cold.source.after_pass1@bad host', /expected <point>/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseCrashPoints(raw)).toThrow(message);
  });

  it('is validated as a setting: a typo stops the process at start', () => {
    expect(() => loadConfig({ FERRY_CRASH_POINT: 'cold.source.after_pas1' })).toThrow(/^invalid FERRY_CRASH_POINT: unknown crash point "cold.source.after_pas1"/);
    expect(loadConfig({ FERRY_CRASH_POINT: 'cold.source.after_pass1#2' }).crashPoint).toBe('cold.source.after_pass1#2');
    expect(loadConfig({}).crashPoint).toBe('');
  });

  it('dies at the armed pass only, counting passes on the named host', () => {
    const c = new CrashCounter(parseCrashPoints('cold.dest.after_spawn@cmp-b#2,api.accept.before_cast'));
    expect(c.pass('cold.dest.after_spawn', 'cmp-a')).toBe(false);
    expect(c.pass('cold.dest.after_spawn', 'cmp-b')).toBe(false);
    expect(c.pass('cold.dest.after_spawn', 'cmp-b')).toBe(true);
    expect(c.pass('cold.dest.after_spawn', 'cmp-b')).toBe(false);
    expect(c.pass('live.source.mid_perform')).toBe(false);
    expect(c.pass('api.accept.before_cast')).toBe(true);
    expect(c.pass('api.accept.before_cast')).toBe(false);
  });

  it('names each point once, with a role', () => {
    expect(new Set(CRASH_POINT_NAMES).size).toBe(CRASH_POINT_NAMES.length);
    for (const name of CRASH_POINT_NAMES) expect(['api', 'scheduler', 'source', 'dest', 'compute']).toContain(CRASH_POINTS[name].role);
  });
});
