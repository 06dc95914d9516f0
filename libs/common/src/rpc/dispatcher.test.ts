import type { RequestContext } from './context';
import { newRequestContext } from './context';
import { callableMethods, Dispatcher } from './dispatcher';
import type { Envelope } from './envelope';
import { NoSuchMethod, UnsupportedVersion } from './errors';

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
  async resize(): Promise<string> {
    return 'v20';
  }
  async migrate(): Promise<string> {
    return 'v20-migrate';
  }
}

class Namespaced {
  readonly target = { version: '1.0', namespace: 'baseapi' };
  async ping(): Promise<string> {
    return 'pong';
  }
}

function envelope(method: string, version: string, namespace?: string): Envelope {
  return { method, version, args: { flavor: 'm1' }, context: newRequestContext(), _unique_id: 'u', ...(namespace ? { namespace } : {}) };
}

describe('Dispatcher', () => {
  const dispatcher = new Dispatcher([new ComputeV13(), new ComputeV20(), new Namespaced()]);

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
      async record(ctx: RequestContext, args: object): Promise<string> {
        seen.push(ctx.request_id, args);
        return this.tag;
      }
    }
    const env = envelope('record', '1.0');
    await expect(new Dispatcher([new Recorder()]).dispatch(env)).resolves.toBe('rec');
    expect(seen).toEqual([env.context.request_id, { flavor: 'm1' }]);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const endpoint = {
      boom(): never {
        throw new TypeError('sync');
      },
    };
    await expect(new Dispatcher([endpoint]).dispatch(envelope('boom', '1.0'))).rejects.toThrow('sync');
  });

  it('rejects a malformed endpoint version and an empty endpoint list', () => {
    expect(() => new Dispatcher([{ target: { version: 'one' } }])).toThrow(TypeError);
    expect(() => new Dispatcher([])).toThrow(TypeError);
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
