// The request bodies the identity API accepts, as JSON schemas (validated before a handler runs).
import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, maxLength: 255 });
const Id = Type.String({ minLength: 1, maxLength: 64 });

const DomainRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name) });

const PasswordUser = Type.Object({
  id: Type.Optional(Id),
  name: Type.Optional(Name),
  domain: Type.Optional(DomainRef),
  password: Type.String({ maxLength: 4096 }),
});

const Identity = Type.Object({
  methods: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 8 }),
  password: Type.Optional(Type.Object({ user: PasswordUser })),
});

const ProjectRef = Type.Object({ id: Type.Optional(Id), name: Type.Optional(Name), domain: Type.Optional(DomainRef) });

const ScopeObject = Type.Object({
  project: Type.Optional(ProjectRef),
  domain: Type.Optional(DomainRef),
  system: Type.Optional(Type.Object({})),
  'OS-TRUST:trust': Type.Optional(Type.Object({})),
});

/** `POST /v3/auth/tokens`. Unknown keys are tolerated, as Keystone tolerates them. */
export const AuthRequest = Type.Object({
  auth: Type.Object({
    identity: Identity,
    scope: Type.Optional(Type.Union([Type.Literal('unscoped'), ScopeObject])),
  }),
});

export type AuthRequest = Static<typeof AuthRequest>;
export type DomainRef = Static<typeof DomainRef>;
export type ProjectRef = Static<typeof ProjectRef>;
export type PasswordUser = Static<typeof PasswordUser>;
export type Scope = Static<typeof ScopeObject>;
