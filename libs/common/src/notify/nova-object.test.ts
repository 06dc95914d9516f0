// Versioned-object primitives: building, recognising, copying with changes, and unwrapping for readers.
import { isNovaObject, novaObject, unwrapNovaObject, withData } from './nova-object';

describe('nova objects', () => {
  const flavor = novaObject('FlavorPayload', '1.4', { name: 'm1.small', extra_specs: { a: 'b' } });
  const payload = novaObject('InstanceActionPayload', '1.7', { uuid: 'i-1', flavor, tags: [novaObject('Tag', '1.0', { tag: 't' })], fault: null });

  it('recognises a primitive and nothing else', () => {
    expect(isNovaObject(payload)).toBe(true);
    expect(isNovaObject({ 'nova_object.name': 'X' })).toBe(false);
    expect(isNovaObject(null)).toBe(false);
    expect(isNovaObject([payload])).toBe(false);
  });

  it('unwraps nested objects and lists all the way down', () => {
    expect(unwrapNovaObject(payload)).toEqual({ uuid: 'i-1', flavor: { name: 'm1.small', extra_specs: { a: 'b' } }, tags: [{ tag: 't' }], fault: null });
  });

  it('copies with changed data and leaves the original alone', () => {
    const changed = withData(payload, { fault: 'boom' });
    expect(changed['nova_object.data']).toMatchObject({ uuid: 'i-1', fault: 'boom' });
    expect(payload['nova_object.data'].fault).toBeNull();
    expect(changed['nova_object.name']).toBe('InstanceActionPayload');
  });
});
