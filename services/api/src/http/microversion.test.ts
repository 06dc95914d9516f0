import { MicroversionError, negotiateVersion, versionHeaders, versionIn } from './microversion';

const err = (fn: () => unknown): MicroversionError => {
  try {
    fn();
  } catch (e) {
    return e as MicroversionError;
  }
  throw new Error('expected an error');
};

describe('microversion negotiation', () => {
  it('serves 2.1 without a header', () => {
    expect(negotiateVersion({})).toEqual({ major: 2, minor: 1 });
  });
  it('reads the standard header, among other services', () => {
    expect(negotiateVersion({ 'openstack-api-version': 'volume 3.1, compute 2.53' })).toEqual({ major: 2, minor: 53 });
  });
  it('reads the legacy header', () => {
    expect(negotiateVersion({ 'x-openstack-nova-api-version': '2.25' })).toEqual({ major: 2, minor: 25 });
  });
  it('prefers the standard header over the legacy one', () => {
    expect(negotiateVersion({ 'openstack-api-version': 'compute 2.60', 'x-openstack-nova-api-version': '2.3' }).minor).toBe(60);
  });
  it('maps latest to the maximum', () => {
    expect(negotiateVersion({ 'openstack-api-version': 'compute latest' })).toEqual({ major: 2, minor: 80 });
  });
  it('answers 400 to a malformed version', () => {
    for (const bad of ['compute 2', 'compute two', 'compute 2.01', 'compute 2.3.4']) {
      expect(err(() => negotiateVersion({ 'openstack-api-version': bad })).status).toBe(400);
    }
  });
  it('answers 406 outside the supported range', () => {
    const e = err(() => negotiateVersion({ 'openstack-api-version': 'compute 2.81' }));
    expect(e.status).toBe(406);
    expect(e.message).toMatch(/Minimum is 2.1 and maximum is 2.80/);
    expect(err(() => negotiateVersion({ 'openstack-api-version': 'compute 3.0' })).status).toBe(406);
    expect(err(() => negotiateVersion({ 'x-openstack-nova-api-version': '2.0' })).status).toBe(406);
  });
  it('ignores a standard header for other services', () => {
    expect(negotiateVersion({ 'openstack-api-version': 'volume 3.1' })).toEqual({ major: 2, minor: 1 });
  });
  it('echoes the version and Vary', () => {
    expect(versionHeaders({ major: 2, minor: 42 })).toEqual({
      'OpenStack-API-Version': 'compute 2.42', 'X-OpenStack-Nova-API-Version': '2.42', Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
    });
  });
  it('checks version ranges', () => {
    expect(versionIn({ major: 2, minor: 47 }, '2.47')).toBe(true);
    expect(versionIn({ major: 2, minor: 46 }, '2.47')).toBe(false);
    expect(versionIn({ major: 2, minor: 67 }, '2.30', '2.67')).toBe(true);
    expect(versionIn({ major: 2, minor: 68 }, '2.30', '2.67')).toBe(false);
  });
});
