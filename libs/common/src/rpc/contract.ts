// An RPC API's contract as data: the methods the bus may call and a schema for each one's args, checked against the endpoint type.
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import type { ArgsOf, MethodNames } from './endpoint';

/** Every remote method of E mapped to the schema of its args. */
export type RpcContract<E> = { readonly [K in MethodNames<E>]-?: TSchema };

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Where a schema's type and the args its method declares differ, the type error names the method. */
interface ArgsSchemaMismatch<K> {
  readonly argsSchemaDoesNotMatchMethod: K;
}

/** C, with each schema replaced by an error type where its static type is not exactly the method's args type. */
type CheckedContract<E, C> = {
  [K in keyof C]: K extends MethodNames<E> ? (C[K] extends TSchema ? (Same<Static<C[K]>, ArgsOf<E, K>> extends true ? C[K] : ArgsSchemaMismatch<K>) : never) : never;
};

/**
 * The contract of endpoint type E: `defineContract<ComputeEndpoint>()({ stop_instance: Type.Object(...), ... })`.
 * A method missing from the schemas, a schema for a method E lacks, or a schema whose type differs from the method's
 * args (either way: a caller's message it would refuse, or a message the handler cannot take) breaks the build.
 */
export function defineContract<E>(): <C extends RpcContract<E>>(schemas: C & CheckedContract<E, C>) => RpcContract<E> {
  return (schemas) => Object.freeze({ ...(schemas as RpcContract<E>) });
}

/** An endpoint object together with the contract that says what of it the bus may reach. */
export interface ServedEndpoint {
  readonly endpoint: object;
  readonly contract: Readonly<Record<string, TSchema>>;
}

/** Pairs an endpoint with its contract; the contract must cover exactly E's remote methods. */
export function served<E extends object>(endpoint: E, contract: RpcContract<NoInfer<E>>): ServedEndpoint {
  return { endpoint, contract: contract as Readonly<Record<string, TSchema>> };
}

// Building blocks shared by contracts.

/** A UUID in its canonical text form, as Postgres and randomUUID() write it. */
export const UuidSchema = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });

/** A database row id (serial): a positive integer. */
export const RowIdSchema = Type.Integer({ minimum: 1 });

/** A host name as it appears in a server target: non-empty, no spaces or routing wildcards. */
export const HostNameSchema = Type.String({ pattern: '^[^\\s*#]+$' });

/** The args of one method: exactly these fields, since an arg the handler never reads is a caller's mistake. */
export function argsSchema<P extends TProperties>(properties: P): TObject<P> {
  return Type.Object(properties, { additionalProperties: false });
}

/** A method that takes no arguments. */
export const NoArgsSchema = argsSchema({});
