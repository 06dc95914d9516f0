import { describeTarget, makeTarget, withOverrides } from './target';

describe('Target', () => {
  it('is a frozen value holding only the fields given', () => {
    const t = makeTarget({ topic: 'compute', server: 'host-1.example.org', version: '1.2' });
    expect(Object.isFrozen(t)).toBe(true);
    expect(t).toEqual({ topic: 'compute', server: 'host-1.example.org', version: '1.2' });
  });

  it('derives new targets without touching the original', () => {
    const base = makeTarget({ topic: 'compute' });
    const direct = withOverrides(base, { server: 'h1', version: '1.1' });
    expect(base).toEqual({ topic: 'compute' });
    expect(direct).toEqual({ topic: 'compute', server: 'h1', version: '1.1' });
    expect(withOverrides(direct, { server: undefined })).toEqual({ topic: 'compute', version: '1.1' });
  });

  it.each([
    [{ topic: '' }],
    [{ topic: 'a.b' }],
    [{ topic: 'compute', server: '' }],
    [{ topic: 'compute', server: 'h*' }],
    [{ topic: 'compute', server: 'h #' }],
    [{ topic: 'compute', version: '1' }],
    [{ topic: 'compute', namespace: '' }],
  ])('refuses %j', (target) => {
    expect(() => makeTarget(target)).toThrow(TypeError);
  });

  it('describes itself for messages', () => {
    expect(describeTarget({ topic: 'compute' })).toBe('compute');
    expect(describeTarget({ topic: 'compute', server: 'h1' })).toBe('compute.h1');
    expect(describeTarget({ topic: 'compute', fanout: true })).toBe('compute (fanout)');
  });
});
