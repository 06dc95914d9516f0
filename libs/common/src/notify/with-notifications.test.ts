// The Notifier and withNotifications: message shape, .start/.end/.error around an action, and failures that never leak.
import { FerryError } from '../domain/errors/ferry-error';
import { createLogger, type Logger } from '../log';
import type { NotificationMessage, NovaObject, Transport } from '../rpc/transport';
import { novaObject } from './nova-object';
import { Notifier } from './notifier';
import { withNotifications } from './with-notifications';

class MigrationFailed extends FerryError {
  override readonly code: string = 'MigrationFailed';
}

/** A transport that records what it is asked to send, or fails as told. */
function fakeTransport(fail?: Error): Pick<Transport, 'notify'> & { sent: NotificationMessage[] } {
  const sent: NotificationMessage[] = [];
  return {
    sent,
    notify: async (m) => {
      if (fail) throw fail;
      sent.push(m);
    },
  };
}

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', pretty: false, destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  return { log, lines };
}

let state = 'resize_prep';
const payload = (): NovaObject => novaObject('InstanceActionPayload', '1.7', { uuid: 'i-1', task_state: state, fault: null });

describe('Notifier', () => {
  it('sends an oslo-shaped message for its publisher', async () => {
    const t = fakeTransport();
    await new Notifier(t, 'ferry-compute:compute-1', capturingLogger().log).info('instance.resize.start', payload());
    expect(t.sent).toEqual([
      {
        message_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        publisher_id: 'ferry-compute:compute-1',
        event_type: 'instance.resize.start',
        priority: 'INFO',
        timestamp: expect.any(String),
        payload: payload(),
      },
    ]);
    expect(new Date(t.sent[0].timestamp).toISOString()).toBe(t.sent[0].timestamp);
  });

  it('sends errors at ERROR and gives every message its own id', async () => {
    const t = fakeTransport();
    const n = new Notifier(t, 'p:h', capturingLogger().log);
    await n.error('instance.resize.error', payload);
    await n.error('instance.resize.error', payload);
    expect(t.sent.map((m) => m.priority)).toEqual(['ERROR', 'ERROR']);
    expect(t.sent[0].message_id).not.toBe(t.sent[1].message_id);
  });

  it('logs a failed send at warn and resolves', async () => {
    const { log, lines } = capturingLogger();
    const n = new Notifier(fakeTransport(new Error('no connection to the message broker at amqp://guest:***@mq/')), 'p:h', log);
    await expect(n.info('instance.resize.start', payload())).resolves.toBeUndefined();
    const warn = lines.find((l) => l.msg === 'notification not sent');
    expect(warn).toMatchObject({ level: 40, event_type: 'instance.resize.start', err: expect.stringContaining('no connection') });
    expect(warn).not.toHaveProperty('payload');
  });

  it('treats a payload builder that throws as a failed notification', async () => {
    const { log, lines } = capturingLogger();
    const t = fakeTransport();
    await expect(
      new Notifier(t, 'p:h', log).info('instance.resize.end', () => {
        throw new TypeError('instance row not loaded');
      }),
    ).resolves.toBeUndefined();
    expect(t.sent).toEqual([]);
    expect(lines.some((l) => l.msg === 'notification not sent')).toBe(true);
  });
});

describe('withNotifications', () => {
  beforeEach(() => {
    state = 'resize_prep';
  });

  it('emits .start, runs the action, emits .end with the state it left, and returns its result', async () => {
    const t = fakeTransport();
    const n = new Notifier(t, 'p:h', capturingLogger().log);
    const result = await withNotifications(n, 'instance.resize', payload, async () => {
      expect(t.sent.map((m) => m.event_type)).toEqual(['instance.resize.start']);
      state = 'resize_migrated';
      return 42;
    });
    expect(result).toBe(42);
    expect(t.sent.map((m) => [m.event_type, m.priority, m.payload['nova_object.data'].task_state])).toEqual([
      ['instance.resize.start', 'INFO', 'resize_prep'],
      ['instance.resize.end', 'INFO', 'resize_migrated'],
    ]);
  });

  it('emits .error at ERROR with the fault and rethrows', async () => {
    const t = fakeTransport();
    const n = new Notifier(t, 'p:h', capturingLogger().log);
    const err = new MigrationFailed('destination went away');
    await expect(
      withNotifications(n, 'instance.live_migration_pre', payload, () => {
        throw err;
      }),
    ).rejects.toBe(err);
    expect(t.sent.map((m) => [m.event_type, m.priority])).toEqual([
      ['instance.live_migration_pre.start', 'INFO'],
      ['instance.live_migration_pre.error', 'ERROR'],
    ]);
    const fault = t.sent[1].payload['nova_object.data'].fault as NovaObject;
    expect(fault['nova_object.name']).toBe('ExceptionPayload');
    expect(fault['nova_object.data']).toMatchObject({ exception: 'MigrationFailed', exception_message: 'destination went away' });
    expect(t.sent[0].payload['nova_object.data'].fault).toBeNull();
  });

  it('lets the action succeed while notifications cannot be sent', async () => {
    const n = new Notifier(fakeTransport(new Error('broker down')), 'p:h', capturingLogger().log);
    await expect(withNotifications(n, 'instance.resize', payload, async () => 'done')).resolves.toBe('done');
  });

  it('rethrows the action’s own error, not a notification failure', async () => {
    const n = new Notifier(fakeTransport(new Error('broker down')), 'p:h', capturingLogger().log);
    const err = new Error('disk copy failed');
    await expect(withNotifications(n, 'instance.resize', payload, () => Promise.reject(err))).rejects.toBe(err);
  });
});
