// Nova's instance payloads as data: field names, nesting, versions and the values Nova's fields allow.
import type { InstanceFlavor } from '../db/entities/instance';
import { POWER_STATES } from '../domain/instance-states';
import {
  flavorPayload,
  instanceActionPayload,
  novaTime,
  powerStateValue,
  rescuePayload,
  resizePrepPayload,
  type InstanceSnapshot,
} from './instance-payload';
import { unwrapNovaObject } from './nova-object';

const small: InstanceFlavor = {
  id: 1, flavorid: '1', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' },
};
const medium: InstanceFlavor = { ...small, id: 2, flavorid: '2', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40, extra_specs: {} };

function instance(overrides: Partial<InstanceSnapshot> = {}): InstanceSnapshot {
  return {
    uuid: '7f6a5c1e-2b7d-4a43-9a55-0e1e1c6a1b2c',
    display_name: 'web-1',
    project_id: 'p-1',
    user_id: 'u-1',
    host: 'compute-1',
    node: 'compute-1',
    flavor: small,
    image_ref: 'a2459075-d96c-40d5-893e-577ff92e721c',
    vm_state: 'active',
    task_state: 'resize_migrating',
    power_state: POWER_STATES.RUNNING,
    progress: 40,
    locked: false,
    metadata: { role: 'web' },
    launched_at: new Date('2024-05-01T10:00:01.250Z'),
    created_at: new Date('2024-05-01T09:59:00.000Z'),
    updated_at: new Date('2024-05-02T08:00:00.999Z'),
    deleted_at: null,
    ...overrides,
  };
}

describe('instanceActionPayload', () => {
  it('wraps the data as an InstanceActionPayload in the nova namespace', () => {
    const p = instanceActionPayload(instance());
    expect(p['nova_object.name']).toBe('InstanceActionPayload');
    expect(p['nova_object.namespace']).toBe('nova');
    expect(p['nova_object.version']).toMatch(/^1\.\d+$/);
  });

  it("maps the row onto Nova's field names", () => {
    expect(instanceActionPayload(instance())['nova_object.data']).toMatchObject({
      uuid: '7f6a5c1e-2b7d-4a43-9a55-0e1e1c6a1b2c',
      display_name: 'web-1',
      tenant_id: 'p-1',
      user_id: 'u-1',
      host: 'compute-1',
      node: 'compute-1',
      image_uuid: 'a2459075-d96c-40d5-893e-577ff92e721c',
      state: 'active',
      task_state: 'resize_migrating',
      power_state: 'running',
      progress: 40,
      locked: false,
      metadata: { role: 'web' },
      created_at: '2024-05-01T09:59:00Z',
      launched_at: '2024-05-01T10:00:01Z',
      updated_at: '2024-05-02T08:00:00Z',
      deleted_at: null,
      fault: null,
    });
  });

  it('nests the flavor as a FlavorPayload', () => {
    const { flavor } = instanceActionPayload(instance())['nova_object.data'];
    expect(flavor).toEqual({
      'nova_object.name': 'FlavorPayload',
      'nova_object.namespace': 'nova',
      'nova_object.version': expect.any(String),
      'nova_object.data': {
        flavorid: '1', name: 'm1.small', memory_mb: 2048, vcpus: 1, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' },
      },
    });
  });

  it('keeps nulls for an instance that was never placed nor launched', () => {
    const data = instanceActionPayload(instance({ host: null, node: null, launched_at: null, task_state: null }))['nova_object.data'];
    expect(data).toMatchObject({ host: null, node: null, launched_at: null, task_state: null });
  });

  it('fills the initiator from the request context, and the request id only for a user request', () => {
    const byUser = instanceActionPayload(instance(), {}, { request_id: 'req-1', user_id: 'admin', project_id: 'admin-p' })['nova_object.data'];
    expect(byUser).toMatchObject({ request_id: 'req-1', action_initiator_user: 'admin', action_initiator_project: 'admin-p' });
    const periodic = instanceActionPayload(instance(), {}, { request_id: 'req-2' })['nova_object.data'];
    expect(periodic).toMatchObject({ request_id: null, action_initiator_user: null, action_initiator_project: null });
  });

  it('merges extra fields last', () => {
    const data = instanceActionPayload(instance(), { migration_uuid: 'm-1', state: 'resized' })['nova_object.data'];
    expect(data).toMatchObject({ migration_uuid: 'm-1', state: 'resized', tenant_id: 'p-1' });
  });

  it('does not share the row’s objects with the payload', () => {
    const row = instance();
    const data = instanceActionPayload(row)['nova_object.data'];
    (data.metadata as Record<string, string>).role = 'changed';
    expect(row.metadata.role).toBe('web');
  });
});

describe('resizePrepPayload and rescuePayload', () => {
  it('adds the new flavor as a FlavorPayload under InstanceActionResizePrepPayload', () => {
    const p = resizePrepPayload(instance(), medium);
    expect(p['nova_object.name']).toBe('InstanceActionResizePrepPayload');
    const plain = unwrapNovaObject(p) as Record<string, { name: string }>;
    expect(plain.new_flavor.name).toBe('m1.medium');
    expect(plain.flavor.name).toBe('m1.small');
  });

  it('adds the rescue image under InstanceActionRescuePayload', () => {
    const p = rescuePayload(instance(), 'img-rescue');
    expect(p['nova_object.name']).toBe('InstanceActionRescuePayload');
    expect(p['nova_object.data'].rescue_image_ref).toBe('img-rescue');
  });
});

describe('field values', () => {
  it.each([
    [POWER_STATES.NOSTATE, 'pending'],
    [POWER_STATES.RUNNING, 'running'],
    [POWER_STATES.PAUSED, 'paused'],
    [POWER_STATES.SHUTDOWN, 'shutdown'],
    [POWER_STATES.CRASHED, 'crashed'],
    [POWER_STATES.SUSPENDED, 'suspended'],
  ])('power state %i is %s', (value, name) => {
    expect(powerStateValue(value)).toBe(name);
  });

  it('writes times as ISO 8601 UTC to the second, null for none', () => {
    expect(novaTime(new Date('2012-10-29T13:42:11.987Z'))).toBe('2012-10-29T13:42:11Z');
    expect(novaTime(null)).toBeNull();
  });

  it('copies the flavor extra specs', () => {
    const specs = flavorPayload(small)['nova_object.data'].extra_specs as Record<string, string>;
    specs.x = 'y';
    expect(small.extra_specs).toEqual({ 'hw:cpu_policy': 'shared' });
  });
});
