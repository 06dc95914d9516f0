import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { RequestSpec } from '@ferry/common/domain';
import { COMPUTE_CONTRACT } from './rpc-contract';

const UUID = '0b6f4c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b';
const FLAVOR = { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' } };
/** As the API builds it at create time. */
const CREATE_SPEC: RequestSpec = { flavor: FLAVOR, image_ref: 'c1a1b7a0-5f0e-4d3c-9b2a-1e0f9d8c7b6a', project_id: 'demo', availability_zone: null, num_attempts: 1 };
/** As a failed host passes it on to an alternate. */
const RESCHEDULED_SPEC: RequestSpec = { ...CREATE_SPEC, availability_zone: 'nova', force_hosts: ['compute-1'], ignore_hosts: ['compute-2'], num_attempts: 2 };

const check = (method: keyof typeof COMPUTE_CONTRACT, args: unknown): boolean => TypeCompiler.Compile(COMPUTE_CONTRACT[method]).Check(args);

describe('COMPUTE_CONTRACT', () => {
  it.each([
    ['build_and_run_instance', { instance_uuid: UUID, request_spec: CREATE_SPEC, alternates: ['compute-2', 'compute-3'] }],
    ['build_and_run_instance', { instance_uuid: UUID, request_spec: RESCHEDULED_SPEC, alternates: [] }],
    ['reboot_instance', { instance_uuid: UUID, reboot_type: 'HARD' }],
    ['terminate_instance', { instance_uuid: UUID.toUpperCase() }],
    ['prep_resize', { instance_uuid: UUID, migration_type: 'resize', new_flavor: FLAVOR, request_spec: { ...CREATE_SPEC, ignore_hosts: ['compute-1'] }, alternates: ['compute-3'] }],
    // A flavor copy stored in an instance row may carry more than the fields placement reads.
    ['prep_resize', { instance_uuid: UUID, migration_type: 'migration', new_flavor: { ...FLAVOR, description: null }, request_spec: CREATE_SPEC, alternates: [] }],
    ['finish_resize', { migration_id: 12 }],
    ['check_can_live_migrate_destination', { migration_id: 3, alternates: ['compute-2'], num_attempts: 1 }],
    ['pre_live_migration', { migration_id: 3, cookie: { port: 49152, disks: [{ path: '/var/lib/ferry/disk', size: 1 }], block_migration: true } }],
    ['post_live_migration_at_destination', { migration_id: 3, cookie: {} }],
    ['rescue_instance', { instance_uuid: UUID, rescue_image_ref: '' }],
    ['cleanup_guest', { instance_uuid: UUID, op: 'destroy', expect: 'incoming' }],
    ['cleanup_guest', { instance_uuid: UUID, op: 'rename_back' }],
  ] as const)('accepts %s as its callers send it', (method, args) => {
    expect(check(method, args)).toBe(true);
  });

  it.each([
    ['build_and_run_instance', { instance_uuid: UUID, request_spec: { ...CREATE_SPEC, flavor: { ...FLAVOR, memory_mb: -1 } }, alternates: [] }],
    ['build_and_run_instance', { instance_uuid: UUID, request_spec: { ...CREATE_SPEC, retry: true }, alternates: [] }],
    ['build_and_run_instance', { instance_uuid: UUID, request_spec: CREATE_SPEC, alternates: ['compute.*'] }],
    ['reboot_instance', { instance_uuid: UUID, reboot_type: 'soft' }],
    ['stop_instance', { instance_uuid: 42 }],
    ['stop_instance', {}],
    ['prep_resize', { instance_uuid: UUID, migration_type: 'evacuation', new_flavor: FLAVOR, request_spec: CREATE_SPEC, alternates: [] }],
    ['prep_resize', { instance_uuid: UUID, migration_type: 'resize', new_flavor: { ...FLAVOR, extra_specs: { a: 1 } }, request_spec: CREATE_SPEC, alternates: [] }],
    ['confirm_resize', { migration_id: '12' }],
    ['confirm_resize', { migration_id: 12, instance_uuid: UUID }],
    ['check_can_live_migrate_destination', { migration_id: 3, alternates: [], num_attempts: 0 }],
    ['pre_live_migration', { migration_id: 3, cookie: ['not', 'an', 'object'] }],
    ['pre_live_migration', { migration_id: 3 }],
    ['cleanup_guest', { instance_uuid: UUID, op: 'delete_everything' }],
    ['cleanup_guest', { instance_uuid: UUID, op: 'destroy', expect: 'gone' }],
  ] as const)('refuses %s with args its callers never send', (method, args) => {
    expect(check(method, args)).toBe(false);
  });
});
