// The scheduler topic's contract: which SchedulerEndpoint methods the bus may call, and the schema of each one's args.
import { InstanceFlavorSchema, RequestSpecSchema } from '@ferry/common/domain';
import { argsSchema, defineContract, HostNameSchema, RowIdSchema, UuidSchema } from '@ferry/common/rpc';
import { Type } from '@sinclair/typebox';
import type { SchedulerEndpoint } from './rpcapi';

const placement = argsSchema({ instance_uuids: Type.Array(UuidSchema, { minItems: 1 }), request_spec: RequestSpecSchema });

export const SCHEDULER_CONTRACT = defineContract<SchedulerEndpoint>()({
  schedule_and_build_instances: placement,
  select_destinations: placement,
  migrate_server: argsSchema({
    instance_uuid: UuidSchema,
    migration_type: Type.Union([Type.Literal('migration'), Type.Literal('resize')]),
    new_flavor: InstanceFlavorSchema,
    host: Type.Optional(HostNameSchema),
  }),
  live_migrate_server: argsSchema({ migration_id: RowIdSchema }),
  evacuate_server: argsSchema({ migration_id: RowIdSchema }),
});
