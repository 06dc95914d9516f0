import { RpcClient } from './client';
import type { RequestContext } from './context';
import { newRequestContext } from './context';
import { RemoteError } from './errors';
import { recordingTransport } from './recording-transport';

class ComputeEndpoint {
  readonly target = { version: '1.3' };
  async resizeInstance(_ctx: RequestContext, args: { instance: string; flavor: string }): Promise<{ accepted: boolean }> {
    return { accepted: args.flavor !== '' };
  }
}

describe('RpcClient', () => {
  const ctx = newRequestContext({ user_id: 'u1' });

  it('sends an envelope with method, args, version and context', async () => {
    const { transport, sent } = recordingTransport();
    const client = new RpcClient<ComputeEndpoint>(transport, { topic: 'compute', version: '1.2' });
    await expect(client.call(ctx, 'resizeInstance', { instance: 'i-1', flavor: 'm1' })).resolves.toEqual({ accepted: true });
    expect(sent[0]).toMatchObject({
      kind: 'call',
      target: { topic: 'compute', version: '1.2' },
      envelope: { method: 'resizeInstance', args: { instance: 'i-1', flavor: 'm1' }, version: '1.2', context: ctx },
      timeoutMs: 60_000,
    });
  });

  it('prepare() returns a new frozen context and leaves the client as it was', async () => {
    const { transport, sent } = recordingTransport();
    const client = new RpcClient<ComputeEndpoint>(transport, { topic: 'compute' }, { timeoutMs: 5000 });
    const direct = client.prepare({ server: 'h1', version: '1.3', timeoutMs: 100 });
    expect(direct).not.toBe(client);
    expect(Object.isFrozen(direct)).toBe(true);
    expect(Object.isFrozen(client)).toBe(true);
    expect(Object.isFrozen(direct.target)).toBe(true);
    expect(client.target).toEqual({ topic: 'compute' });
    expect(client.timeoutMs).toBe(5000);
    await direct.cast(ctx, 'resizeInstance', { instance: 'i-1', flavor: 'm1' });
    await client.cast(ctx, 'resizeInstance', { instance: 'i-1', flavor: 'm1' });
    expect(sent.map((s) => [s.target, s.timeoutMs, s.envelope.version])).toEqual([
      [{ topic: 'compute', server: 'h1', version: '1.3' }, 100, '1.3'],
      [{ topic: 'compute' }, 5000, '1.0'],
    ]);
  });

  it('refuses a call on a fanout target, an invalid target and an invalid timeout', async () => {
    const { transport } = recordingTransport();
    const client = new RpcClient<ComputeEndpoint>(transport, { topic: 'compute' });
    await expect(client.prepare({ fanout: true }).call(ctx, 'resizeInstance', { instance: 'i', flavor: 'f' })).rejects.toThrow(TypeError);
    expect(() => new RpcClient(transport, { topic: 'compute.h1' })).toThrow(TypeError);
    expect(() => client.prepare({ version: 'latest' })).toThrow(TypeError);
    expect(() => new RpcClient(transport, { topic: 'compute' }, { timeoutMs: 0 })).toThrow(TypeError);
  });

  it('rethrows a failure reply as an error', async () => {
    const { transport } = recordingTransport({ failure: { type: 'KeyError', message: 'flavor', retryable: false } });
    const client = new RpcClient<ComputeEndpoint>(transport, { topic: 'compute' });
    await expect(client.call(ctx, 'resizeInstance', { instance: 'i', flavor: 'f' })).rejects.toBeInstanceOf(RemoteError);
  });
});
