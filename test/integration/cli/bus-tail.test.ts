// `ferry bus tail` as an operator runs it: against RabbitMQ it taps the broker (calls with their replies and latency,
// casts, error replies, notifications; filters; JSON lines off a terminal); against an API on the in-process bus it
// reads GET /os-ferry-bus as the admin; a member is refused and a bad filter is a usage error.
import { migrate, openDatabase, recordHeartbeat } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { Notifier } from '@ferry/common/notify';
import { RpcClient, RpcServer, createTransport, newRequestContext, type BusEvent, type Transport } from '@ferry/common/rpc';
import { deleteRpcTopology, randomPrefix, testTransportUrl } from '../../support/amqp';
import { ASSEMBLED_PASSWORDS, startAssembledApi, type AssembledApi } from '../../support/assembled-api';
import { createTestDatabase } from '../../support/db';
import { eventually, runFerry, startFerry, type FerryProcess } from '../../support/ferry-process';
import { conformanceEndpoint, newProbe, type ConformanceEndpoint } from '../rpc/conformance';

jest.setTimeout(60_000);

const UUID = '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10';
const brokerUrl = testTransportUrl();
const payload = (data: Record<string, unknown>) => ({ 'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.8', 'nova_object.data': data });

/** The JSON lines a tail printed on stdout (its stderr says other things). */
function printed(tail: FerryProcess): BusEvent[] {
  return tail.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BusEvent);
}

describe('ferry bus tail against RabbitMQ', () => {
  const prefix = randomPrefix();
  const env = { FERRY_TRANSPORT_URL: brokerUrl, FERRY_BUS_PREFIX: prefix, FERRY_DATABASE_URL: '' };
  const opened: Transport[] = [];
  let server: RpcServer;
  const tails: FerryProcess[] = [];

  const open = async (sender: string) => {
    const t = await createTransport({ url: brokerUrl, prefix, sender });
    opened.push(t);
    return t;
  };
  const tail = async (...args: string[]) => {
    const t = startFerry(['bus', 'tail', ...args], env);
    tails.push(t);
    await t.waitFor(/tapping amqp:\/\/\S+ \(prefix test_/);
    return t;
  };

  beforeAll(async () => {
    server = new RpcServer(await open('ferry-compute:h1'), { topic: 'compute', server: 'h1' }, [conformanceEndpoint('h1', newProbe())]);
    await server.start();
  });

  afterAll(async () => {
    for (const t of tails) await t.stop('SIGKILL');
    await server.stop();
    for (const t of opened) await t.close();
    await deleteRpcTopology(brokerUrl, { prefix, topics: ['compute'], servers: ['h1'] });
  });

  it('shows calls with their replies and latency, casts, failures and notifications, filtered as asked, as JSON lines', async () => {
    const all = await tail('--json');
    const notes = await tail('--method', 'note');
    const instance = await tail('--instance', UUID, '--json');
    const fromOther = await tail('--host', 'other', '--json');

    const ctl = await open('ferry-api:ctl');
    const ctx = newRequestContext({ request_id: 'req-cli-1' });
    const client = new RpcClient<ConformanceEndpoint>(ctl, { topic: 'compute', version: '1.3' }, { timeoutMs: 5000 });
    await client.call(ctx, 'echo', { value: 1, delayMs: 100 });
    await client.cast(ctx, 'note', { value: 'hello' });
    await expect(client.call(ctx, 'failTyped', { limit: 3 })).rejects.toThrow('quota of 3 exceeded');
    await new Notifier(ctl, 'ferry-compute:h1', silentLogger()).error('instance.resize.error', payload({
      uuid: UUID, fault: { 'nova_object.data': { exception: 'DiskCopyFailed', exception_message: 'no space left' } },
    }));
    const other = new RpcClient<ConformanceEndpoint>(await open('ferry-api:other'), { topic: 'compute', version: '1.3' });
    await other.cast(newRequestContext({ request_id: 'req-other' }), 'note', { value: 'elsewhere' });

    for (const t of [all, notes, fromOther]) await t.waitFor(/"request_id":"req-other"/);
    await instance.waitFor(/"instance.resize.error"/);

    const seen = printed(all);
    const call = seen.find((e) => e.kind === 'call' && e.method === 'echo')!;
    expect(call).toMatchObject({ sender: 'ferry-api:ctl', target: 'compute', version: '1.3', request_id: 'req-cli-1' });
    const reply = seen.find((e) => e.kind === 'reply' && e.msg_id === call.msg_id)!;
    expect(reply).toMatchObject({ sender: 'ferry-compute:h1', target: 'ferry-api:ctl', method: 'echo', failure: null });
    expect(reply.latency_ms).toBeGreaterThanOrEqual(90);
    expect(seen.find((e) => e.kind === 'reply' && e.method === 'failTyped')?.failure).toEqual({ type: 'ConformanceQuotaExceeded', message: 'quota of 3 exceeded' });
    expect(seen.filter((e) => e.kind === 'cast').map((e) => e.sender)).toEqual(['ferry-api:ctl', 'ferry-api:other']);
    expect(seen.find((e) => e.kind === 'notification')).toMatchObject({ method: 'instance.resize.error', instance: UUID, failure: { type: 'DiskCopyFailed', message: 'no space left' } });

    expect(printed(notes).map((e) => `${e.kind} ${e.method} ${e.request_id}`)).toEqual(['cast note req-cli-1', 'cast note req-other']);
    expect(printed(instance).map((e) => `${e.kind} ${e.method}`)).toEqual(['notification instance.resize.error']);
    expect(printed(fromOther).map((e) => `${e.kind} ${e.sender}`)).toEqual(['cast ferry-api:other']);
    for (const t of [all, notes, instance, fromOther]) expect(await t.stop('SIGINT')).toBe(0);
  });

  it('counts what the broker drops while the tail cannot keep up, and loses nothing it does not count', async () => {
    const stalled = await tail('--json', '--backlog', '100', '--method', 'note');
    stalled.child.kill('SIGSTOP');
    const client = new RpcClient<ConformanceEndpoint>(await open('ferry-api:burst'), { topic: 'compute', version: '1.3' }, { timeoutMs: 10_000 });
    const ctx = newRequestContext({ request_id: 'req-burst' });
    const BURST = 1500;
    await Promise.all(Array.from({ length: BURST }, (_, i) => client.cast(ctx, 'note', { value: `burst-${i}` })));
    stalled.child.kill('SIGCONT');
    const [, dropped] = await stalled.waitFor(/ferry bus tail: [\d,]+ messages dropped before the tail could show them \(([\d,]+) in all\)/);
    const total = Number(dropped!.replace(/,/g, ''));
    // At most a prefetch's worth in flight plus the backlog reach the tail; the broker dropped (and the tail counted) the rest.
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(BURST - 100);
    await eventually(async () => printed(stalled).filter((e) => e.request_id === 'req-burst').length + total === BURST, 10_000, 100);
    expect(await stalled.stop('SIGINT')).toBe(0);
  });

  it('watches the hosts the services table names from the start', async () => {
    const testDb = await createTestDatabase();
    const db = await openDatabase({ url: testDb.url, stateDir: '/nonexistent', log: silentLogger(), poolSize: 1 });
    try {
      await migrate(db.dataSource);
      await recordHeartbeat(db.dataSource, { host: 'h1', binary: 'ferry-compute', topic: 'compute', version: '1' });
      const known = startFerry(['bus', 'tail', '--json', '--host', 'h1'], { ...env, FERRY_DATABASE_URL: testDb.url });
      tails.push(known);
      await known.waitFor(/tapping amqp:/);
      // Nothing from h1 has crossed the bus since the tail started, yet a cast to h1's own queue is seen.
      const client = new RpcClient<ConformanceEndpoint>(await open('ferry-scheduler:ctl'), { topic: 'compute', server: 'h1', version: '1.3' });
      await client.cast(newRequestContext({ request_id: 'req-h1' }), 'note', { value: 'to h1' });
      await known.waitFor(/"request_id":"req-h1"/);
      expect(printed(known).map((e) => `${e.kind} ${e.target}`)).toEqual(['cast compute.h1']);
      expect(await known.stop('SIGINT')).toBe(0);
    } finally {
      await db.close();
      await testDb.drop();
    }
  });

  it('refuses a filter it cannot apply', async () => {
    const bad = await runFerry(['bus', 'tail', '--instance', 'vm1'], env);
    expect([bad.code, bad.stderr]).toEqual([2, 'ferry: --instance must be a UUID, got "vm1"\n']);
  });
});

describe('ferry bus tail through the API (in-process bus)', () => {
  let api: AssembledApi;
  let server: RpcServer;

  beforeAll(async () => {
    api = await startAssembledApi();
    server = new RpcServer(api.transport, { topic: 'compute', server: 'h1' }, [conformanceEndpoint('h1', newProbe())]);
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    await api.close();
  });

  it('reads the admin stream when no broker is configured', async () => {
    const env = { FERRY_TRANSPORT_URL: '', FERRY_DATABASE_URL: '', FERRY_PUBLIC_URL: api.url, FERRY_ADMIN_PASSWORD: ASSEMBLED_PASSWORDS.admin };
    const tail = startFerry(['bus', 'tail', '--json', '--method', 'echo'], env);
    try {
      await tail.waitFor(/tapping the bus through the API at http:\/\/127\.0\.0\.1:\d+\/compute\/v2\.1/);
      const client = new RpcClient<ConformanceEndpoint>(api.transport, { topic: 'compute', server: 'h1', version: '1.3' });
      await client.cast(newRequestContext(), 'note', { value: 'not shown' });
      await client.call(newRequestContext({ request_id: 'req-api-1' }), 'echo', { value: 1 });
      await tail.waitFor(/"kind":"reply"/);
      const seen = printed(tail);
      expect(seen.map((e) => `${e.kind} ${e.method} ${e.request_id}`)).toEqual(['call echo req-api-1', 'reply echo req-api-1']);
      expect(seen[0]!.target).toBe('compute.h1');
      // The replying server, known by its queue: these transports do not name their process.
      expect(seen[1]).toMatchObject({ sender: 'compute.h1', msg_id: seen[0]!.msg_id, latency_ms: expect.any(Number) });
      expect(await tail.stop('SIGINT')).toBe(0);
    } finally {
      await tail.stop('SIGKILL');
    }
  });

  it('is refused to a member', async () => {
    const member = await runFerry(['bus', 'tail'], {
      FERRY_TRANSPORT_URL: '', OS_AUTH_URL: `${api.url}/identity`, OS_USERNAME: 'demo', OS_PASSWORD: ASSEMBLED_PASSWORDS.demo, OS_PROJECT_NAME: 'demo',
    });
    expect(member.code).toBe(2);
    expect(member.stderr).toMatch(/^ferry: GET \/os-ferry-bus: HTTP 403: Policy doesn't allow os_compute_api:os-ferry-bus/);
  });
});
