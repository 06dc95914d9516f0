// Dispatch: find the endpoint that has the method and a compatible version, and invoke it.
import type { RequestContext } from './context';
import { isHiddenName, type EndpointTarget } from './endpoint';
import type { Envelope } from './envelope';
import { NoSuchMethod, UnsupportedVersion } from './errors';
import { DEFAULT_VERSION, isCompatible, parseVersion, type ApiVersion } from './version';

type Handler = (ctx: RequestContext, args: unknown) => unknown;

interface EndpointEntry {
  readonly endpoint: object;
  readonly versionText: string;
  readonly version: ApiVersion;
  readonly namespace: string | undefined;
  readonly methods: ReadonlyMap<string, Handler>;
}

/** A method ready to run: the endpoint it belongs to and the function. */
export interface ResolvedMethod {
  readonly endpoint: object;
  readonly handler: Handler;
}

export class Dispatcher {
  private readonly entries: readonly EndpointEntry[];

  constructor(endpoints: readonly object[]) {
    if (endpoints.length === 0) throw new TypeError('an RPC server needs at least one endpoint');
    this.entries = endpoints.map(describeEndpoint);
  }

  /** The method a message asks for; throws NoSuchMethod or UnsupportedVersion. */
  resolve(method: string, version: string, namespace?: string): ResolvedMethod {
    const requested = parseVersion(version);
    const offered: string[] = [];
    for (const entry of this.entries) {
      if (entry.namespace !== namespace) continue;
      const handler = entry.methods.get(method);
      if (!handler) continue;
      if (requested && isCompatible(entry.version, requested)) return { endpoint: entry.endpoint, handler };
      offered.push(entry.versionText);
    }
    if (offered.length > 0) {
      throw new UnsupportedVersion(`Endpoint does not support RPC version ${version} of ${method} (implements ${offered.join(', ')})`, {
        method,
        version,
        implemented: offered,
      });
    }
    throw new NoSuchMethod(`Endpoint does not support RPC method ${method}`, { method });
  }

  /** Runs the method env asks for with its context and args, resolving to its result. */
  dispatch(env: Envelope): Promise<unknown> {
    try {
      const { endpoint, handler } = this.resolve(env.method, env.version, env.namespace);
      return Promise.resolve(handler.call(endpoint, env.context, env.args));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function describeEndpoint(endpoint: object): EndpointEntry {
  if (endpoint === null || typeof endpoint !== 'object') throw new TypeError('an RPC endpoint must be an object');
  const target = (endpoint as { target?: EndpointTarget }).target ?? {};
  const versionText = target.version ?? DEFAULT_VERSION;
  const version = parseVersion(versionText);
  if (!version) throw new TypeError(`RPC endpoint ${endpoint.constructor.name} declares version ${JSON.stringify(versionText)}, not "major.minor"`);
  return { endpoint, versionText, version, namespace: target.namespace, methods: callableMethods(endpoint) };
}

/**
 * The methods of endpoint callable over RPC: functions on the object or its own classes (not Object.prototype's
 * toString and friends), not hidden names, and never accessors, which would run code just by being looked up.
 */
export function callableMethods(endpoint: object): Map<string, Handler> {
  const methods = new Map<string, Handler>();
  const seen = new Set<string>();
  for (let obj: object | null = endpoint; obj !== null && obj !== Object.prototype; obj = Object.getPrototypeOf(obj)) {
    for (const name of Object.getOwnPropertyNames(obj)) {
      // The nearest definition wins, as for a normal property lookup.
      if (seen.has(name)) continue;
      seen.add(name);
      if (isHiddenName(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(obj, name);
      if (descriptor && typeof descriptor.value === 'function') methods.set(name, descriptor.value as Handler);
    }
  }
  return methods;
}
