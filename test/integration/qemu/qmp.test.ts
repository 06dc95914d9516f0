// The QMP client against a real QEMU (Debian's qemu-system-x86): greeting and negotiation, commands routed by id,
// errors, events with QEMU's timestamps, timeouts, re-attaching to a running QEMU, and QEMU going away.
import { QmpClient, QmpCommandError, QmpDisconnected, QmpTimeout } from '@ferry/compute/drivers';
import { startBareQemu, type TestQemu } from '../../support/qemu';

jest.setTimeout(30_000);

describe('QMP client on a real QEMU', () => {
  let qemu: TestQemu;
  let clients: QmpClient[];

  const attach = async (opts?: Parameters<typeof QmpClient.connect>[1]) => {
    const c = await QmpClient.connect(qemu.qmpPath, opts);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    qemu = await startBareQemu();
    clients = [];
  });
  afterEach(async () => {
    for (const c of clients) await c.close();
    await qemu.stop();
  });

  it('reads the greeting, negotiates, and runs commands', async () => {
    const qmp = await attach();
    expect(qmp.greeting.version.qemu.major).toBeGreaterThanOrEqual(7);
    expect(Array.isArray(qmp.greeting.capabilities)).toBe(true);
    expect(await qmp.execute('query-status')).toMatchObject({ status: 'running', running: true });
  });

  it('routes concurrent answers to their own commands', async () => {
    const qmp = await attach();
    const [status, version, name, again] = await Promise.all([
      qmp.execute<{ status: string }>('query-status'), qmp.execute<{ qemu: { major: number } }>('query-version'),
      qmp.execute<Record<string, unknown>>('query-name'), qmp.execute<{ status: string }>('query-status'),
    ]);
    expect(status.status).toBe('running');
    expect(version.qemu.major).toBe(qmp.greeting.version.qemu.major);
    expect(name).toEqual({});
    expect(again.status).toBe('running');
  });

  it('turns an error answer into QmpCommandError with its class, and the connection goes on', async () => {
    const qmp = await attach();
    const err = await qmp.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect((err as QmpCommandError).details).toMatchObject({ class: 'CommandNotFound', command: 'no-such-command' });
    await expect(qmp.execute('migrate-set-parameters', { 'downtime-limit': 'soon' })).rejects.toBeInstanceOf(QmpCommandError);
    expect(await qmp.execute('query-status')).toMatchObject({ status: 'running' });
  });

  it('delivers STOP and RESUME events stamped with the time QEMU emitted them', async () => {
    const qmp = await attach();
    const before = Date.now();
    const stopped = qmp.waitForEvent('STOP', 5000);
    await qmp.execute('stop');
    const stop = await stopped;
    expect(await qmp.execute('query-status')).toMatchObject({ status: 'paused', running: false });
    const resumed = qmp.waitForEvent('RESUME', 5000);
    await qmp.execute('cont');
    const resume = await resumed;
    const after = Date.now();
    expect(stop.at).toBeGreaterThanOrEqual(before - 5);
    expect(resume.at).toBeGreaterThanOrEqual(stop.at);
    expect(resume.at).toBeLessThanOrEqual(after + 5);
    expect(stop.data).toEqual({});
  });

  it('times a command out when QEMU does not answer, drops the late answer, and goes on', async () => {
    const qmp = await attach({ commandTimeoutMs: 10_000 });
    process.kill(qemu.pid, 'SIGSTOP');
    const err = await qmp.execute('query-name', undefined, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpTimeout);
    await expect(qmp.waitForEvent('RESUME', 200)).rejects.toBeInstanceOf(QmpTimeout);
    process.kill(qemu.pid, 'SIGCONT');
    // The late answer to query-name ({}) arrives first and must not be taken for this one.
    expect(await qmp.execute('query-status')).toMatchObject({ status: 'running' });
  });

  it('re-attaches to a QEMU that kept running after its client went away', async () => {
    const first = await attach();
    await first.execute('stop');
    await first.close();
    await expect(first.execute('query-status')).rejects.toBeInstanceOf(QmpDisconnected);
    expect(qemu.alive()).toBe(true);
    const second = await attach();
    expect(await second.execute('query-status')).toMatchObject({ status: 'paused' });
  });

  it('fails what is in flight with QmpDisconnected when QEMU exits, and refuses a socket nobody serves', async () => {
    const qmp = await attach();
    const waiting = qmp.waitForEvent('RESUME', 10_000);
    process.kill(qemu.pid, 'SIGSTOP');
    const inFlight = qmp.execute('query-status');
    process.kill(qemu.pid, 'SIGKILL');
    await expect(inFlight).rejects.toBeInstanceOf(QmpDisconnected);
    await expect(waiting).rejects.toBeInstanceOf(QmpDisconnected);
    await qmp.closed;
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpDisconnected);
    await expect(QmpClient.connect(qemu.qmpPath, { connectTimeoutMs: 1000 })).rejects.toBeInstanceOf(QmpDisconnected);
  });
});
