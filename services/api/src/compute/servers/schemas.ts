// Request body schemas of POST and PUT /servers, one per microversion range, each closed (unknown keys are a 400).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { versionIn, type ApiVersion } from '../../http/microversion';

/** Printable characters, no leading or trailing whitespace (Nova's "name" format). */
export const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?![\\p{Zs}])[^\\p{C}\\p{Zl}\\p{Zp}]*(?<![\\p{Zs}])$' });
const Description = Type.Union([Type.String({ maxLength: 255, pattern: '^[^\\p{C}\\p{Zl}\\p{Zp}]*$' }), Type.Null()]);
/** Nova's lenient boolean: a JSON boolean or one of its spellings. */
export const LooseBoolean = Type.Unsafe<boolean | string>({
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes',
    false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
});
const PositiveInteger = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]*$', minLength: 1 })]);
const Uuid = Type.String({ format: 'uuid' });
const IpAddress = Type.Union([Type.String({ format: 'ipv4' }), Type.String({ format: 'ipv6' })]);
const Tag = Type.String({ minLength: 1, maxLength: 60, pattern: '^[^,/]*$' });
const Fqdn = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });
export const Metadata = Type.Record(Type.String({ pattern: '^[a-zA-Z0-9\\-_:. ]{1,255}$' }), Type.String({ maxLength: 255 }), { additionalProperties: false });
const DiskConfig = Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')]);
const VolumeSize = Type.Union([Type.Integer({ minimum: 1, maximum: 0x7fffffff }), Type.String({ pattern: '^[0-9]+$' })]);

const legacyBdmProps = {
  virtual_name: Type.Optional(Type.String({ maxLength: 255 })),
  volume_id: Type.Optional(Uuid),
  snapshot_id: Type.Optional(Uuid),
  volume_size: Type.Optional(VolumeSize),
  device_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' })),
  delete_on_termination: Type.Optional(LooseBoolean),
  no_device: Type.Optional(Type.Unknown()),
  connection_info: Type.Optional(Type.String({ maxLength: 16777215 })),
};

function bdmV2(opts: { tag: boolean; volumeType: boolean }) {
  return Type.Object({
    ...legacyBdmProps,
    source_type: Type.Optional(Type.Union(['volume', 'image', 'snapshot', 'blank'].map((s) => Type.Literal(s)))),
    uuid: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' })),
    image_id: Type.Optional(Uuid),
    destination_type: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('volume')])),
    guest_format: Type.Optional(Type.String({ maxLength: 255 })),
    device_type: Type.Optional(Type.String({ maxLength: 255 })),
    disk_bus: Type.Optional(Type.String({ maxLength: 255 })),
    boot_index: Type.Optional(Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]+$' }), Type.Null()])),
    ...(opts.tag ? { tag: Type.Optional(Tag) } : {}),
    ...(opts.volumeType ? { volume_type: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])) } : {}),
  }, { additionalProperties: false });
}

function networkItem(opts: { uuidFormat: boolean; tag: boolean }) {
  return Type.Object({
    fixed_ip: Type.Optional(IpAddress),
    port: Type.Optional(Type.Union([Uuid, Type.Null()])),
    uuid: Type.Optional(opts.uuidFormat ? Uuid : Type.String()),
    ...(opts.tag ? { tag: Type.Optional(Tag) } : {}),
  }, { additionalProperties: false });
}

/** What changed at each create microversion (Nova's create, create_v219 … create_v274). */
interface CreateShape {
  description: boolean;
  networkTag: boolean;
  bdmTag: boolean;
  /** 2.37: networks required, either a list or "auto"/"none". */
  autoNetworks: boolean;
  tags: boolean;
  personality: boolean;
  trustedCerts: boolean;
  volumeType: boolean;
  hosts: boolean;
}

const SchedulerHints = Type.Object({}, { additionalProperties: true });

function createSchema(s: CreateShape) {
  const items = networkItem({ uuidFormat: s.autoNetworks, tag: s.networkTag });
  const networks = s.autoNetworks ? Type.Union([Type.Array(items), Type.Literal('none'), Type.Literal('auto')]) : Type.Array(items);
  const server = Type.Object({
    name: Name,
    imageRef: Type.Optional(Type.Union([Uuid, Type.String({ maxLength: 0 })])),
    flavorRef: Type.Union([Type.String({ minLength: 1 }), Type.Integer()]),
    adminPass: Type.Optional(Type.String()),
    metadata: Type.Optional(Metadata),
    networks: s.autoNetworks ? networks : Type.Optional(networks),
    'OS-DCF:diskConfig': Type.Optional(DiskConfig),
    accessIPv4: Type.Optional(Type.String({ format: 'ipv4' })),
    accessIPv6: Type.Optional(Type.String({ format: 'ipv6' })),
    availability_zone: Type.Optional(Name),
    block_device_mapping: Type.Optional(Type.Array(Type.Object(legacyBdmProps, { additionalProperties: false }))),
    block_device_mapping_v2: Type.Optional(Type.Array(bdmV2({ tag: s.bdmTag, volumeType: s.volumeType }))),
    config_drive: Type.Optional(LooseBoolean),
    key_name: Type.Optional(Name),
    min_count: Type.Optional(PositiveInteger),
    max_count: Type.Optional(PositiveInteger),
    return_reservation_id: Type.Optional(LooseBoolean),
    security_groups: Type.Optional(Type.Array(Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false }))),
    user_data: Type.Optional(Type.String({ maxLength: 65535, pattern: '^[A-Za-z0-9+/\\s]*={0,2}\\s*$' })),
    ...(s.personality ? {
      personality: Type.Optional(Type.Array(Type.Object({ path: Type.Optional(Type.String()), contents: Type.Optional(Type.String()) }, { additionalProperties: false }))),
    } : {}),
    ...(s.description ? { description: Type.Optional(Description) } : {}),
    ...(s.tags ? { tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })) } : {}),
    ...(s.trustedCerts ? {
      trusted_image_certificates: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 50, uniqueItems: true }), Type.Null()])),
    } : {}),
    ...(s.hosts ? { host: Type.Optional(Fqdn), hypervisor_hostname: Type.Optional(Fqdn) } : {}),
  }, { additionalProperties: false });
  return Type.Object({
    server,
    'os:scheduler_hints': Type.Optional(SchedulerHints),
    'OS-SCH-HNT:scheduler_hints': Type.Optional(SchedulerHints),
  }, { additionalProperties: false });
}

const V21: CreateShape = {
  description: false, networkTag: false, bdmTag: false, autoNetworks: false, tags: false, personality: true, trustedCerts: false, volumeType: false, hosts: false,
};

/** Create schemas by the first microversion they apply to; each is one object so fastify compiles it once. */
const CREATE_SCHEMAS: readonly { since: string; schema: TSchema }[] = (() => {
  const v219 = { ...V21, description: true };
  const v232 = { ...v219, networkTag: true, bdmTag: true };
  const v233 = { ...v219, networkTag: true };
  const v237 = { ...v219, autoNetworks: true };
  const v242 = { ...v237, networkTag: true, bdmTag: true };
  const v252 = { ...v242, tags: true };
  const v257 = { ...v252, personality: false };
  const v263 = { ...v257, trustedCerts: true };
  const v267 = { ...v263, volumeType: true };
  const v274 = { ...v267, hosts: true };
  return [
    { since: '2.1', schema: createSchema(V21) },
    { since: '2.19', schema: createSchema(v219) },
    { since: '2.32', schema: createSchema(v232) },
    { since: '2.33', schema: createSchema(v233) },
    { since: '2.37', schema: createSchema(v237) },
    { since: '2.42', schema: createSchema(v242) },
    { since: '2.52', schema: createSchema(v252) },
    { since: '2.57', schema: createSchema(v257) },
    { since: '2.63', schema: createSchema(v263) },
    { since: '2.67', schema: createSchema(v267) },
    { since: '2.74', schema: createSchema(v274) },
  ];
})();

/** Any version's create body: what a handler sees once that version's schema accepted it. */
type CreateAny = Static<ReturnType<typeof createSchema>>;
export type CreateServerBody = Omit<CreateAny, 'server'> & {
  server: Omit<CreateAny['server'], 'networks'> & { networks?: CreateAny['server']['networks'] | 'auto' | 'none' };
};
export type CreateServerRequest = CreateServerBody['server'];
export type BdmV2 = NonNullable<CreateServerRequest['block_device_mapping_v2']>[number];

function updateSchema(description: boolean) {
  return Type.Object({
    server: Type.Object({
      name: Type.Optional(Name),
      'OS-DCF:diskConfig': Type.Optional(DiskConfig),
      accessIPv4: Type.Optional(Type.String({ format: 'ipv4' })),
      accessIPv6: Type.Optional(Type.String({ format: 'ipv6' })),
      ...(description ? { description: Type.Optional(Description) } : {}),
    }, { additionalProperties: false }),
  }, { additionalProperties: false });
}

const UPDATE_SCHEMAS: readonly { since: string; schema: TSchema }[] = [
  { since: '2.1', schema: updateSchema(false) },
  { since: '2.19', schema: updateSchema(true) },
];
export type UpdateServerBody = Static<ReturnType<typeof updateSchema>>;

function pick(table: readonly { since: string; schema: TSchema }[], v: ApiVersion): TSchema {
  let chosen = table[0]!.schema;
  for (const row of table) if (versionIn(v, row.since)) chosen = row.schema;
  return chosen;
}

export const createSchemaFor = (v: ApiVersion): TSchema => pick(CREATE_SCHEMAS, v);
export const updateSchemaFor = (v: ApiVersion): TSchema => pick(UPDATE_SCHEMAS, v);
