// Dispatch: find the contract method a message names at a compatible version, check its args, and invoke it.
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { RequestContext } from './context';
import type { ServedEndpoint } from './contract';
import { isHiddenName, type EndpointTarget } from './endpoint';
import type { Envelope } from './envelope';
import { InvalidRpcArguments, NoSuchMethod, UnsupportedVersion } from './errors';
import { DEFAULT_VERSION, isCompatible, parseVersion, type ApiVersion } from './version';

type Handler = (ctx: RequestContext, args: unknown) => unknown;

interface ContractMethod {
  readonly handler: Handler;
  readonly args: TypeCheck<TSchema>;
}

interface EndpointEntry {
  readonly endpoint: object;
  readonly versionText: string;
  readonly version: ApiVersion;
  readonly namespace: string | undefined;
  readonly methods: ReadonlyMap<string, ContractMethod>;
}

/** A method ready to run: the endpoint it belongs to, the function and the schema check of its args. */
export interface ResolvedMethod {
  readonly endpoint: object;
  readonly handler: Handler;
  readonly args: TypeCheck<TSchema>;
}

/** How many schema violations a refusal lists: enough to fix the caller, not a flood. */
const MAX_REPORTED_VIOLATIONS = 5;

export class Dispatcher {
  private readonly entries: readonly EndpointEntry[];

  constructor(endpoints: readonly ServedEndpoint[]) {
    if (endpoints.length === 0) throw new TypeError('an RPC server needs at least one endpoint');
    this.entries = endpoints.map(describeEndpoint);
  }

  /** The contract method a message asks for; throws NoSuchMethod or UnsupportedVersion. */
  resolve(method: string, version: string, namespace?: string): ResolvedMethod {
    const requested = parseVersion(version);
    const offered: string[] = [];
    for (const entry of this.entries) {
      if (entry.namespace !== namespace) continue;
      const found = entry.methods.get(method);
      if (!found) continue;
      if (requested && isCompatible(entry.version, requested)) return { endpoint: entry.endpoint, ...found };
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

  /**
   * What env asks for, ready to run once its method, version and args passed; throws NoSuchMethod, UnsupportedVersion
   * or InvalidRpcArguments otherwise, before any of the endpoint's code runs.
   */
  admit(env: Envelope): () => Promise<unknown> {
    const { endpoint, handler, args } = this.resolve(env.method, env.version, env.namespace);
    if (!args.Check(env.args)) throw invalidArguments(env.method, args, env.args);
    return () => {
      try {
        return Promise.resolve(handler.call(endpoint, env.context, env.args));
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }

  /** Runs the method env asks for with its context and args, resolving to its result. */
  dispatch(env: Envelope): Promise<unknown> {
    try {
      return this.admit(env)();
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

function describeEndpoint(served: ServedEndpoint): EndpointEntry {
  const { endpoint, contract } = served;
  if (endpoint === null || typeof endpoint !== 'object') throw new TypeError('an RPC endpoint must be an object');
  const target = (endpoint as { target?: EndpointTarget }).target ?? {};
  const versionText = target.version ?? DEFAULT_VERSION;
  const version = parseVersion(versionText);
  if (!version) throw new TypeError(`RPC endpoint ${endpoint.constructor.name} declares version ${JSON.stringify(versionText)}, not "major.minor"`);
  return { endpoint, versionText, version, namespace: target.namespace, methods: contractMethods(endpoint, contract) };
}

/** The contract's methods as the endpoint implements them; a contract naming what the endpoint lacks is a bug at start-up. */
function contractMethods(endpoint: object, contract: Readonly<Record<string, TSchema>>): Map<string, ContractMethod> {
  const implemented = callableMethods(endpoint);
  const methods = new Map<string, ContractMethod>();
  for (const [name, schema] of Object.entries(contract)) {
    const handler = implemented.get(name);
    if (!handler) throw new TypeError(`RPC endpoint ${endpoint.constructor.name} has no callable method ${name} its contract names`);
    methods.set(name, { handler, args: compiled(schema) });
  }
  return methods;
}

/** Compiled checks by schema: every compute service of a process shares one contract, so each schema compiles once. */
const checks = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compiled(schema: TSchema): TypeCheck<TSchema> {
  let check = checks.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    checks.set(schema, check);
  }
  return check;
}

/** Says where args break the schema, never what they hold: args may carry data that does not belong in logs. */
function invalidArguments(method: string, check: TypeCheck<TSchema>, args: unknown): InvalidRpcArguments {
  const violations: string[] = [];
  for (const error of check.Errors(args)) {
    violations.push(`${error.path || '/'}: ${error.message}`);
    if (violations.length === MAX_REPORTED_VIOLATIONS) break;
  }
  return new InvalidRpcArguments(`Invalid arguments for RPC method ${method}: ${violations.join('; ')}`, { method, violations });
}

/**
 * The methods of endpoint that are functions: on the object or its own classes (not Object.prototype's toString and
 * friends), not hidden names, and never accessors, which would run code just by being looked up.
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
