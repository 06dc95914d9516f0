// Request bodies of the flavor APIs. Structure (closed objects, required keys, names, descriptions) is
// checked by the route schema; Nova's integer-or-string numbers are checked by fields.ts for clear messages.
import { Type, type Static } from '@sinclair/typebox';
import { LooseBoolean } from '../services/schemas';

/** Printable characters, no leading or trailing whitespace (Nova's "name" format). */
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?![\\p{Zs}])[^\\p{C}\\p{Zl}\\p{Zp}]*(?<![\\p{Zs}])$' });
/** Printable characters, whitespace allowed (Nova's valid_description_regex); 2.55+. */
const Description = Type.Union([Type.String({ maxLength: 65535, pattern: '^[^\\p{C}\\p{Zl}\\p{Zp}]*$' }), Type.Null()]);

export const FlavorCreateBody = Type.Object({
  flavor: Type.Object({
    name: Name,
    id: Type.Optional(Type.Unknown()),
    ram: Type.Unknown(),
    vcpus: Type.Unknown(),
    disk: Type.Unknown(),
    'OS-FLV-EXT-DATA:ephemeral': Type.Optional(Type.Unknown()),
    swap: Type.Optional(Type.Unknown()),
    rxtx_factor: Type.Optional(Type.Unknown()),
    'os-flavor-access:is_public': Type.Optional(LooseBoolean),
    description: Type.Optional(Description),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
export type FlavorCreate = Static<typeof FlavorCreateBody>;

export const FlavorUpdateBody = Type.Object({
  flavor: Type.Object({ description: Description }, { additionalProperties: false }),
}, { additionalProperties: false });
export type FlavorUpdate = Static<typeof FlavorUpdateBody>;

const SPEC_KEY = '^[a-zA-Z0-9-_:. ]{1,255}$';
const SpecValue = Type.Union([Type.String({ maxLength: 255 }), Type.Number()]);
const Specs = (opts: object = {}) => Type.Record(Type.String({ pattern: SPEC_KEY }), SpecValue, { additionalProperties: false, ...opts });

export const ExtraSpecsCreateBody = Type.Object({ extra_specs: Specs() }, { additionalProperties: false });
export type ExtraSpecsCreate = Static<typeof ExtraSpecsCreateBody>;

/** PUT …/os-extra_specs/{key}: exactly one key, the one the path names. */
export const ExtraSpecUpdateBody = Specs({ minProperties: 1, maxProperties: 1 });
export type ExtraSpecUpdate = Static<typeof ExtraSpecUpdateBody>;
