import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Instance } from '@ferry/common/db';
import { moveRequestSpec } from '../move-destination';
import { SCHEDULER_CONTRACT } from './rpc-contract';

const UUID = '0b6f4c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b';
const FLAVOR = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };
const SPEC = { flavor: FLAVOR, image_ref: 'c1a1b7a0-5f0e-4d3c-9b2a-1e0f9d8c7b6a', project_id: 'demo', availability_zone: 'nova', num_attempts: 1 };

const check = (method: keyof typeof SCHEDULER_CONTRACT, args: unknown): boolean => TypeCompiler.Compile(SCHEDULER_CONTRACT[method]).Check(args);

describe('SCHEDULER_CONTRACT', () => {
  it.each([
    ['schedule_and_build_instances', { instance_uuids: [UUID], request_spec: SPEC }],
    ['select_destinations', { instance_uuids: [UUID, UUID], request_spec: { ...SPEC, force_hosts: ['compute-2'] } }],
    ['migrate_server', { instance_uuid: UUID, migration_type: 'resize', new_flavor: FLAVOR }],
    ['migrate_server', { instance_uuid: UUID, migration_type: 'migration', new_flavor: FLAVOR, host: 'compute-3' }],
    ['live_migrate_server', { migration_id: 1 }],
  ] as const)('accepts %s as its callers send it', (method, args) => {
    expect(check(method, args)).toBe(true);
  });

  it('accepts the request spec a move builds, which the compute passes on', () => {
    const instance = { image_ref: 'img', project_id: 'demo', host: 'compute-1', system_metadata: {} } as unknown as Instance;
    const spec = moveRequestSpec(instance, FLAVOR, 'compute-2');
    expect(check('select_destinations', { instance_uuids: [UUID], request_spec: spec })).toBe(true);
  });

  it.each([
    ['schedule_and_build_instances', { instance_uuids: [], request_spec: SPEC }],
    ['schedule_and_build_instances', { instance_uuids: ['vm-1'], request_spec: SPEC }],
    ['schedule_and_build_instances', { instance_uuids: [UUID], request_spec: { ...SPEC, project_id: '' } }],
    ['migrate_server', { instance_uuid: UUID, migration_type: 'resize', new_flavor: FLAVOR, host: '' }],
    ['migrate_server', { instance_uuid: UUID, migration_type: 'resize' }],
    ['live_migrate_server', { migration_id: 1.5 }],
    ['live_migrate_server', { migration_id: 1, host: 'compute-2' }],
  ] as const)('refuses %s with args its callers never send', (method, args) => {
    expect(check(method, args)).toBe(false);
  });
});
