import { isCompatible, parseVersion } from './version';

describe('RPC versions', () => {
  const v = (text: string) => {
    const parsed = parseVersion(text);
    if (!parsed) throw new Error(`bad version ${text}`);
    return parsed;
  };

  it.each([
    ['1.3', '1.0', true],
    ['1.3', '1.3', true],
    ['1.3', '1.4', false],
    ['1.3', '2.0', false],
    ['2.0', '1.9', false],
    ['1.10', '1.9', true],
  ])('implemented %s serves requested %s: %s', (implemented, requested, expected) => {
    expect(isCompatible(v(implemented), v(requested))).toBe(expected);
  });

  it.each(['1', '1.2.3', 'a.b', '', ' 1.0', '1.0 '])('rejects %j', (text) => {
    expect(parseVersion(text)).toBeUndefined();
  });
});
