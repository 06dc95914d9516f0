// What an endpoint looks like, and the types a client derives from it so a renamed method breaks the build.
import type { RequestContext } from './context';

/** What an endpoint object declares about itself: `readonly target = { version: '1.3' }`. */
export interface EndpointTarget {
  /** The API version the endpoint implements, "major.minor"; default 1.0. */
  readonly version?: string;
  readonly namespace?: string;
}

/** Names that are never callable over RPC, whatever the endpoint holds under them. */
export type HiddenName = 'constructor' | 'target' | `_${string}`;

type RemoteMethod = (ctx: RequestContext, args: never) => Promise<unknown>;

/** The names of E's methods callable over RPC: `async name(ctx, args)`, not hidden. */
export type MethodNames<E> = {
  [K in keyof E]-?: K extends HiddenName ? never : K extends string ? (E[K] extends RemoteMethod ? K : never) : never;
}[keyof E];

/** The args object method K of E takes. */
export type ArgsOf<E, K extends PropertyKey> = K extends keyof E
  ? E[K] extends (ctx: RequestContext, args: infer A) => Promise<unknown> ? A : never
  : never;

type IsAny<T> = 0 extends 1 & T ? true : false;

/** What method K of E resolves to; anything for an untyped (`any`) endpoint. */
export type ResultOf<E, K extends PropertyKey> =
  IsAny<E> extends true
    ? // eslint-disable-next-line @typescript-eslint/no-explicit-any
      any
    : K extends keyof E
      ? E[K] extends (...args: never[]) => Promise<infer R>
        ? R
        : never
      : never;

export function isHiddenName(name: string): boolean {
  return name.startsWith('_') || name === 'constructor' || name === 'target';
}
