// Request bodies of PUT /os-services: one closed schema for the union of every microversion's fields;
// which fields a microversion accepts and requires is checked by update-rules.ts.
import { Type, type Static } from '@sinclair/typebox';

/** Nova's lenient boolean: a JSON boolean or one of its spellings. */
export const LooseBoolean = Type.Unsafe<boolean | string>({
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes',
    false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
});

const Fqdn = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });
const Reason = Type.String({ minLength: 1, maxLength: 255 });

export const ServiceUpdateBody = Type.Object({
  host: Type.Optional(Fqdn),
  binary: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  disabled_reason: Type.Optional(Reason),
  forced_down: Type.Optional(LooseBoolean),
  status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
}, { additionalProperties: false });

export type ServiceUpdate = Static<typeof ServiceUpdateBody>;
