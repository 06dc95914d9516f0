import { containsNul } from './null-characters';

describe('containsNul', () => {
  it('finds U+0000 in a string, an array item, a nested value or a key', () => {
    expect(containsNul('a\u0000b')).toBe(true);
    expect(containsNul(['x', ['y', 'z\u0000']])).toBe(true);
    expect(containsNul({ server: { metadata: { k: 'v\u0000' } } })).toBe(true);
    expect(containsNul({ server: { ['k\u0000']: 'v' } })).toBe(true);
  });

  it('passes everything else, including other control characters and non-strings', () => {
    expect(containsNul({ a: ['\u0001', 'é', 1, null, true, { b: '\\u0000' }] })).toBe(false);
    expect(containsNul(undefined)).toBe(false);
  });

  it('walks a body nested deeper than the call stack, and a huge array, without overflowing', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 200_000; i += 1) deep = [deep];
    expect(containsNul(deep)).toBe(true);
    expect(containsNul(new Array(500_000).fill('x'))).toBe(false);
  });
});
