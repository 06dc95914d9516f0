// GET /os-ferry-bus on the assembled API (in-process bus): admins get the bus as JSON lines — calls with their replies
// and latency, casts, notifications — filtered as asked; members get 403, callers without a token 401, bad filters 400.
import { silentLogger } from '@ferry/common/log';
import { Notifier } from '@ferry/common/notify';
import { RpcClient, RpcServer, newRequestContext, type BusEvent } from '@ferry/common/rpc';
import { startAssembledApi, type AssembledApi } from '../../support/assembled-api';
import { JsonLines } from '../../support/json-lines';
import { conformanceEndpoint, newProbe, type ConformanceEndpoint } from '../rpc/conformance';

const UUID = '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10';

describe('GET /os-ferry-bus', () => {
  let api: AssembledApi;
  let admin: string;
  let server: RpcServer;
  let client: RpcClient<ConformanceEndpoint>;
  const streams: AbortController[] = [];
  const ctx = newRequestContext({ request_id: 'req-bus-1' });

  beforeAll(async () => {
    api = await startAssembledApi();
    admin = await api.login('admin');
    server = new RpcServer(api.transport, { topic: 'compute', server: 'h1' }, [conformanceEndpoint('h1', newProbe())]);
    await server.start();
    client = new RpcClient<ConformanceEndpoint>(api.transport, { topic: 'compute', server: 'h1', version: '1.3' }, { timeoutMs: 5000 });
  });

  afterEach(() => {
    for (const s of streams.splice(0)) s.abort();
  });

  afterAll(async () => {
    await server.stop();
    await api.close();
  });

  const get = (query: string, token?: string) => fetch(`${api.url}/compute/v2.1/os-ferry-bus${query}`, { headers: token ? { 'x-auth-token': token } : {} });

  /** An open stream, read as it arrives. */
  async function stream(query = ''): Promise<JsonLines<BusEvent & { notice?: unknown }>> {
    const aborted = new AbortController();
    streams.push(aborted);
    const res = await fetch(`${api.url}/compute/v2.1/os-ferry-bus${query}`, { headers: { 'x-auth-token': admin }, signal: aborted.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = new JsonLines<BusEvent & { notice?: unknown }>();
    lines.follow(res.body!);
    return lines;
  }

  it('refuses a caller without a token (401) and a member (403)', async () => {
    const anonymous = await get('');
    expect(anonymous.status).toBe(401);
    const member = await get('', await api.login('demo'));
    expect(member.status).toBe(403);
    expect(((await member.json()) as { forbidden: { message: string } }).forbidden.message).toContain('os-ferry-bus');
  });

  it('refuses a filter it cannot apply, naming it (400)', async () => {
    const bad = await get('?instance=vm1', admin);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { badRequest: { message: string } }).badRequest.message).toContain('instance must be a UUID, got "vm1"');
    const unknown = await get('?colour=red', admin);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("'colour' was unexpected");
  });

  it('streams calls with their paired replies and latency, casts and notifications', async () => {
    const lines = await stream();
    await client.call(ctx, 'echo', { value: 1 });
    await client.cast(ctx, 'note', { value: 'hello' });
    await new Notifier(api.transport, 'ferry-compute:h1', silentLogger()).info('instance.resize.start', {
      'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.8', 'nova_object.data': { uuid: UUID },
    });
    const call = await lines.waitFor((r) => r.kind === 'call');
    expect(call).toMatchObject({ method: 'echo', target: 'compute.h1', version: '1.3', request_id: 'req-bus-1' });
    const reply = await lines.waitFor((r) => r.kind === 'reply');
    expect(reply).toMatchObject({ msg_id: call.msg_id, method: 'echo', sender: 'compute.h1', failure: null });
    expect(reply.latency_ms).toEqual(expect.any(Number));
    expect(await lines.waitFor((r) => r.kind === 'cast')).toMatchObject({ method: 'note', target: 'compute.h1' });
    expect(await lines.waitFor((r) => r.kind === 'notification')).toMatchObject({ method: 'instance.resize.start', instance: UUID, sender: 'ferry-compute:h1' });
  });

  it('applies its filters', async () => {
    const notes = await stream('?method=note');
    const other = await stream('?request_id=req-other');
    await client.call(ctx, 'echo', { value: 2 });
    await client.cast(ctx, 'note', { value: 'filtered' });
    await client.cast(newRequestContext({ request_id: 'req-other' }), 'note', { value: 'other' });
    await notes.waitFor((r) => r.kind === 'cast' && r.request_id === 'req-other');
    expect(notes.records.map((r) => `${r.kind} ${r.method}`)).toEqual(['cast note', 'cast note']);
    await other.waitFor((r) => r.kind === 'cast');
    expect(other.records.map((r) => r.request_id)).toEqual(['req-other']);
  });
});
