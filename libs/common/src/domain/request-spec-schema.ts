// RequestSpec and the flavor it carries as schemas, for the RPC contracts of every service that passes them on.
import { Type } from '@sinclair/typebox';
import { HostNameSchema } from '../rpc/contract';

const Count = Type.Integer({ minimum: 0 });

/**
 * A flavor as an instance embeds it. Further fields pass: the copy follows the flavors table, whose columns are not
 * the RPC contract's to police, and the copies already stored in instance rows must keep moving.
 */
export const InstanceFlavorSchema = Type.Object({
  id: Type.Integer(),
  flavorid: Type.String({ minLength: 1 }),
  name: Type.String(),
  vcpus: Count,
  memory_mb: Count,
  root_gb: Count,
  ephemeral_gb: Count,
  swap: Count,
  extra_specs: Type.Record(Type.String(), Type.String()),
});

export const RequestSpecSchema = Type.Object(
  {
    flavor: InstanceFlavorSchema,
    image_ref: Type.String(),
    project_id: Type.String({ minLength: 1 }),
    availability_zone: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    force_hosts: Type.Optional(Type.Array(HostNameSchema)),
    ignore_hosts: Type.Optional(Type.Array(HostNameSchema)),
    num_attempts: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
