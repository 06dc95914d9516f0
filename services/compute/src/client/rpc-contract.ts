// The compute topic's contract: which ComputeEndpoint methods the bus may call, and the schema of each one's args.
import { InstanceFlavorSchema, RequestSpecSchema } from '@ferry/common/domain';
import { argsSchema, defineContract, HostNameSchema, NoArgsSchema, RowIdSchema, UuidSchema } from '@ferry/common/rpc';
import { Type } from '@sinclair/typebox';
import type { ComputeEndpoint } from './rpcapi';
import { CLEANUP_OPS } from './cleanup-step';
import { GUEST_PRESENCES } from './wire-types';

const onInstance = argsSchema({ instance_uuid: UuidSchema });
const onMigration = argsSchema({ migration_id: RowIdSchema });
const Alternates = Type.Array(HostNameSchema);
/** Opaque between the two hosts of a live migration (ports, disk exports, leases): any JSON object. */
const Cookie = Type.Record(Type.String(), Type.Unknown());

export const COMPUTE_CONTRACT = defineContract<ComputeEndpoint>()({
  build_and_run_instance: argsSchema({ instance_uuid: UuidSchema, request_spec: RequestSpecSchema, alternates: Alternates }),
  stop_instance: onInstance,
  start_instance: onInstance,
  reboot_instance: argsSchema({ instance_uuid: UuidSchema, reboot_type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD')]) }),
  pause_instance: onInstance,
  unpause_instance: onInstance,
  suspend_instance: onInstance,
  resume_instance: onInstance,
  get_host_uptime: NoArgsSchema,
  terminate_instance: onInstance,

  prep_resize: argsSchema({
    instance_uuid: UuidSchema,
    migration_type: Type.Union([Type.Literal('migration'), Type.Literal('resize')]),
    new_flavor: InstanceFlavorSchema,
    request_spec: RequestSpecSchema,
    alternates: Alternates,
  }),
  resize_instance: onMigration,
  finish_resize: onMigration,
  confirm_resize: onMigration,
  revert_resize: onMigration,
  finish_revert_resize: onMigration,
  cleanup_incoming: onMigration,

  check_can_live_migrate_destination: argsSchema({ migration_id: RowIdSchema, alternates: Alternates, num_attempts: Type.Integer({ minimum: 1 }) }),
  check_can_live_migrate_source: onMigration,
  live_migration: onMigration,
  pre_live_migration: argsSchema({ migration_id: RowIdSchema, cookie: Cookie }),
  post_live_migration_at_destination: argsSchema({ migration_id: RowIdSchema, cookie: Cookie }),
  rollback_live_migration_at_destination: onMigration,
  get_instance_presence: onInstance,
  list_guests: NoArgsSchema,
  cleanup_guest: argsSchema({
    instance_uuid: UuidSchema,
    op: Type.Union(CLEANUP_OPS.map((op) => Type.Literal(op))),
    expect: Type.Optional(Type.Union(GUEST_PRESENCES.map((p) => Type.Literal(p)))),
  }),
  live_migration_abort: onMigration,
  live_migration_force_complete: onMigration,

  rebuild_instance: onMigration,

  rescue_instance: argsSchema({ instance_uuid: UuidSchema, rescue_image_ref: Type.String() }),
  unrescue_instance: onInstance,
});
