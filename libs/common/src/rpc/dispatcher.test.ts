import { Type } from '@sinclair/typebox';
import type { RequestContext } from './context';
import { newRequestContext } from './context';
import { argsSchema, defineContract, served, UuidSchema, type ServedEndpoint } from './contract';
import { callableMethods, Dispatcher } from './dispatcher';
import type { Envelope } from './envelope';
import { InvalidRpcArguments, NoSuchMethod, UnsupportedVersion } from './errors';

type FlavorArgs = { flavor: string };
const FlavorArgsSchema = argsSchema({ flavor: Type.String() });

class ComputeV13 {
  readonly target = { version: '1.3' };
  notAFunction = 42;
  async resize(_ctx: RequestContext, args: { flavor: string }): Promise<string> {
    return `v13:${args.flavor}`;
  }
  async _private(): Promise<string> {
    return 'secret';
  }
  get sideEffect(): string {
    throw new Error('a getter must never run during dispatch');
  }
}

class ComputeV20 {
  readonly target = { version: '2.0' };
  async resize(_ctx: RequestContext, _args: FlavorArgs): Promise<string> {
    return 'v20';
  }
  async migrate(_ctx: RequestContext, _args: FlavorArgs): Promise<string> {
    return 'v20-migrate';
  }
}

class Namespaced {
  readonly target = { version: '1.0', namespace: 'baseapi' };
  async ping(_ctx: RequestContext, _args: FlavorArgs): Promise<string> {
    return 'pong';
  }
}

const endpoints: ServedEndpoint[] = [
  served(new ComputeV13(), defineContract<ComputeV13>()({ resize: FlavorArgsSchema })),
  served(new ComputeV20(), defineContract<ComputeV20>()({ resize: FlavorArgsSchema, migrate: FlavorArgsSchema })),
  served(new Namespaced(), defineContract<Namespaced>()({ ping: FlavorArgsSchema })),
];

function envelope(method: string, version: string, namespace?: string): Envelope {
  return { method, version, args: { flavor: 'm1' }, context: newRequestContext(), _unique_id: 'u', ...(namespace ? { namespace } : {}) };
}

describe('Dispatcher', () => {
  const dispatcher = new Dispatcher(endpoints);

  it.each([
    ['1.0', 'v13:m1'],
    ['1.3', 'v13:m1'],
    ['2.0', 'v20'],
  ])('serves version %s from the first compatible endpoint', async (version, expected) => {
    await expect(dispatcher.dispatch(envelope('resize', version))).resolves.toBe(expected);
  });

  it.each(['1.4', '3.0', '0.1', 'nonsense'])('refuses version %s with UnsupportedVersion', async (version) => {
    await expect(dispatcher.dispatch(envelope('resize', version))).rejects.toBeInstanceOf(UnsupportedVersion);
  });

  it('finds a method only the second endpoint has', async () => {
    await expect(dispatcher.dispatch(envelope('migrate', '2.0'))).resolves.toBe('v20-migrate');
    await expect(dispatcher.dispatch(envelope('migrate', '1.0'))).rejects.toBeInstanceOf(UnsupportedVersion);
  });

  it.each(['nope', '_private', 'constructor', 'target', 'notAFunction', 'sideEffect', 'toString', 'hasOwnProperty', '__proto__'])(
    'refuses %s with NoSuchMethod',
    async (method) => {
      await expect(dispatcher.dispatch(envelope(method, '1.0'))).rejects.toBeInstanceOf(NoSuchMethod);
    },
  );

  it('matches endpoints by namespace', async () => {
    await expect(dispatcher.dispatch(envelope('ping', '1.0', 'baseapi'))).resolves.toBe('pong');
    await expect(dispatcher.dispatch(envelope('ping', '1.0'))).rejects.toBeInstanceOf(NoSuchMethod);
    await expect(dispatcher.dispatch(envelope('resize', '1.0', 'baseapi'))).rejects.toBeInstanceOf(NoSuchMethod);
  });

  it('passes context and args and binds this', async () => {
    const seen: unknown[] = [];
    class Recorder {
      private readonly tag = 'rec';
      async record(ctx: RequestContext, args: FlavorArgs): Promise<string> {
        seen.push(ctx.request_id, args);
        return this.tag;
      }
    }
    const env = envelope('record', '1.0');
    const recorder = served(new Recorder(), defineContract<Recorder>()({ record: FlavorArgsSchema }));
    await expect(new Dispatcher([recorder]).dispatch(env)).resolves.toBe('rec');
    expect(seen).toEqual([env.context.request_id, { flavor: 'm1' }]);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const endpoint = {
      boom(): never {
        throw new TypeError('sync');
      },
    };
    await expect(new Dispatcher([served<object>(endpoint, { boom: FlavorArgsSchema })]).dispatch(envelope('boom', '1.0'))).rejects.toThrow('sync');
  });

  it('rejects a malformed endpoint version and an empty endpoint list', () => {
    expect(() => new Dispatcher([served<object>({ target: { version: 'one' } }, {})])).toThrow(TypeError);
    expect(() => new Dispatcher([])).toThrow(TypeError);
  });

  it('refuses at construction a contract naming a method the endpoint does not have', () => {
    expect(() => new Dispatcher([served<object>(new ComputeV20(), { resize: FlavorArgsSchema, evacuate: FlavorArgsSchema })])).toThrow(/evacuate/);
    expect(() => new Dispatcher([served<object>(new ComputeV13(), { sideEffect: FlavorArgsSchema })])).toThrow(TypeError);
  });
});

describe('Dispatcher and contracts', () => {
  /** A manager as the services write them: remote methods, and private helpers with the very same shape. */
  class Manager {
    readonly target = { version: '1.0' };
    readonly ran: string[] = [];
    async stop_instance(ctx: RequestContext, args: { instance_uuid: string }): Promise<void> {
      this.ran.push(`stop ${args.instance_uuid}`);
      await this.forget(ctx, args);
    }
    async resize(_ctx: RequestContext, args: { migration_id: number; hosts?: string[] }): Promise<number> {
      this.ran.push(`resize ${args.migration_id}`);
      return args.migration_id;
    }
    /** Public, but no part of the RPC API: its contract leaves it out. */
    async debugDump(_ctx: RequestContext, _args: Record<string, never>): Promise<string[]> {
      return this.ran;
    }
    private async forget(_ctx: RequestContext, args: { instance_uuid: string }): Promise<void> {
      this.ran.push(`forget ${args.instance_uuid}`);
    }
  }
  const contract = {
    stop_instance: argsSchema({ instance_uuid: UuidSchema }),
    resize: argsSchema({ migration_id: Type.Integer({ minimum: 1 }), hosts: Type.Optional(Type.Array(Type.String())) }),
  };
  const uuid = '4f1c0a52-3c1e-4f7a-9d2b-7e0f5a6b8c9d';
  let manager: Manager;
  let dispatcher: Dispatcher;

  beforeEach(() => {
    manager = new Manager();
    // The contract deliberately omits debugDump, which a typed contract would not allow: hence object.
    dispatcher = new Dispatcher([served<object>(manager, contract)]);
  });

  function call(method: string, args: unknown): Promise<unknown> {
    return dispatcher.dispatch({ method, version: '1.0', args: args as Record<string, unknown>, context: newRequestContext(), _unique_id: 'u' });
  }

  it('runs a contract method whose args pass the schema', async () => {
    await expect(call('resize', { migration_id: 7, hosts: ['h1'] })).resolves.toBe(7);
    await expect(call('stop_instance', { instance_uuid: uuid })).resolves.toBeUndefined();
    expect(manager.ran).toEqual(['resize 7', `stop ${uuid}`, `forget ${uuid}`]);
  });

  it.each(['forget', 'debugDump', 'ran', 'target', 'constructor', '__proto__', 'toString'])(
    'refuses %s, which is not in the contract, with NoSuchMethod and runs nothing',
    async (method) => {
      await expect(call(method, { instance_uuid: uuid })).rejects.toBeInstanceOf(NoSuchMethod);
      expect(manager.ran).toEqual([]);
    },
  );

  it.each([
    ['a missing field', 'resize', {}],
    ['a string for an integer id', 'resize', { migration_id: '7' }],
    ['a fractional id', 'resize', { migration_id: 7.5 }],
    ['an id below 1', 'resize', { migration_id: 0 }],
    ['a field the method does not take', 'resize', { migration_id: 7, force: true }],
    ['a wrongly typed optional field', 'resize', { migration_id: 7, hosts: 'h1' }],
    ['a uuid that is not one', 'stop_instance', { instance_uuid: 'not-a-uuid' }],
    ['a uuid with a tail', 'stop_instance', { instance_uuid: `${uuid}; DROP TABLE instances` }],
  ])('refuses %s with InvalidRpcArguments before the handler runs', async (_what, method, args) => {
    const err = await call(method, args).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRpcArguments);
    expect(err).toMatchObject({ code: 'InvalidRpcArguments', details: { method, violations: expect.any(Array) } });
    expect(manager.ran).toEqual([]);
  });

  it('says where args break the schema without echoing what they hold', async () => {
    const err = (await call('stop_instance', { instance_uuid: 'secret-value-xyz' }).catch((e: unknown) => e)) as InvalidRpcArguments;
    expect(err.message).toContain('/instance_uuid');
    expect(JSON.stringify(err.toFailure())).not.toContain('secret-value-xyz');
  });

  it('admit() refuses before handing out anything to run', () => {
    expect(() => dispatcher.admit({ method: 'resize', version: '1.0', args: { migration_id: 'x' }, context: newRequestContext(), _unique_id: 'u' })).toThrow(
      InvalidRpcArguments,
    );
    expect(() => dispatcher.admit({ method: 'forget', version: '1.0', args: {}, context: newRequestContext(), _unique_id: 'u' })).toThrow(NoSuchMethod);
    expect(manager.ran).toEqual([]);
  });
});

describe('callableMethods', () => {
  it('lets the nearest definition win, even when it is not a function', () => {
    class Base {
      async shadowed(): Promise<void> {}
      async inherited(): Promise<void> {}
    }
    class Child extends Base {
      constructor() {
        super();
        Object.defineProperty(this, 'shadowed', { value: 'data' });
      }
    }
    expect([...callableMethods(new Child()).keys()].sort()).toEqual(['inherited']);
  });
});
