import { BadRequest } from '@ferry/common/domain';
import { boolParam, canonicalUuid, integerId, isUuidLike, lastValue, parseStrictBool, rejectRepeated, rejectUnknownParams } from './request-params';

describe('query and path parameters', () => {
  it('reads the last of repeated values', () => {
    expect(lastValue({ a: ['1', '2'] }, 'a')).toBe('2');
    expect(lastValue({ a: 'x' }, 'a')).toBe('x');
    expect(lastValue({}, 'a')).toBeUndefined();
  });

  it('rejects parameters a closed schema does not declare, naming them', () => {
    expect(() => rejectUnknownParams({ limit: '1' }, ['limit'])).not.toThrow();
    expect(() => rejectUnknownParams({ b: '1', a: '2' }, [])).toThrow("Additional properties are not allowed ('a', 'b' were unexpected)");
    expect(() => rejectRepeated({ limit: ['1', '2'] }, ['limit'])).toThrow(BadRequest);
    expect(() => rejectRepeated({ limit: ['1'] }, ['limit'])).not.toThrow();
  });

  it('reads booleans as strutils does', () => {
    expect(['1', 'TRUE', 'on', 'Yes', 't', 'y'].map(parseStrictBool)).toEqual([true, true, true, true, true, true]);
    expect(['0', 'false', 'OFF', 'no', 'f', 'n'].map(parseStrictBool)).toEqual([false, false, false, false, false, false]);
    expect(parseStrictBool('maybe')).toBeUndefined();
    expect(boolParam({ with_servers: 'true' }, 'with_servers')).toBe(true);
    expect(() => boolParam({ with_servers: 'maybe' }, 'with_servers')).toThrow(/with_servers/);
  });

  it('recognises uuids as uuidutils does', () => {
    expect(isUuidLike('6F0B1E5C-3C1D-4B38-9A5E-0C1F3A2D7E11')).toBe(true);
    expect(isUuidLike('6f0b1e5c3c1d4b389a5e0c1f3a2d7e11')).toBe(true);
    expect(isUuidLike('6f0b1e5c-3c1d-4b38-9a5e')).toBe(false);
    expect(canonicalUuid('6F0B1E5C3C1D4B389A5E0C1F3A2D7E11')).toBe('6f0b1e5c-3c1d-4b38-9a5e-0c1f3a2d7e11');
  });

  it('reads integer ids as validate_integer does', () => {
    expect(integerId('42')).toBe(42);
    expect(integerId(' 7 ')).toBe(7);
    expect(integerId('4.2')).toBeUndefined();
    expect(integerId('abc')).toBeUndefined();
    expect(integerId('99999999999')).toBeUndefined();
  });
});
