import { encodeNotification } from '../amqp/oslo-notification';
import { describeTapped } from './bus-event';
import type { TappedMessage } from './tapped-message';

const UUID = '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10';
const AT = Date.parse('2026-12-04T22:41:03.512Z');

function tapped(over: Partial<TappedMessage>): TappedMessage {
  return { at: AT, route: 'rpc', address: 'compute.compute-1', body: '{}', ...over };
}

const envelope = (extra: object = {}) => JSON.stringify({
  method: 'prep_resize', version: '5.1', args: { instance_uuid: UUID }, context: { request_id: 'req-1', roles: [] }, _unique_id: 'u-1', ...extra,
});

describe('how a tapped message reads', () => {
  it('reads a call: sender, target, method, version, instance, request id, message id', () => {
    const e = describeTapped(tapped({ body: envelope({ _msg_id: 'm-1' }), msgId: 'm-1', sender: 'ferry-api:ctl' }));
    expect(e).toEqual({
      time: '2026-12-04T22:41:03.512Z', kind: 'call', sender: 'ferry-api:ctl', target: 'compute.compute-1', topic: 'compute',
      method: 'prep_resize', version: '5.1', instance: UUID, migration: null, request_id: 'req-1', msg_id: 'm-1', latency_ms: null, failure: null,
    });
    const byMigration = describeTapped(tapped({ body: JSON.stringify({ method: 'resize_instance', version: '1.9', args: { migration_id: 12 }, context: {} }) }));
    expect(byMigration).toMatchObject({ kind: 'cast', method: 'resize_instance', instance: null, migration: 12 });
  });

  it('reads a message without a message id as a cast, and a fanout as a cast to every server of the topic', () => {
    expect(describeTapped(tapped({ address: 'scheduler', body: envelope() }))).toMatchObject({ kind: 'cast', target: 'scheduler', topic: 'scheduler', msg_id: 'u-1', sender: null });
    expect(describeTapped(tapped({ route: 'fanout', address: 'compute', body: envelope() }))).toMatchObject({ kind: 'cast', target: 'compute (fanout)', topic: 'compute' });
  });

  it('reads an error reply as a failure, and a body that is no envelope as malformed', () => {
    const reply = describeTapped(tapped({ route: 'reply', address: 'ferry_reply_abc', msgId: 'm-1', body: JSON.stringify({ failure: { type: 'InstanceNotFound', message: 'gone', retryable: false } }) }));
    expect(reply).toMatchObject({ kind: 'reply', target: 'ferry_reply_abc', msg_id: 'm-1', failure: { type: 'InstanceNotFound', message: 'gone' } });
    expect(describeTapped(tapped({ route: 'reply', msgId: 'm-2', body: '{"result":1}' })).failure).toBeNull();
    expect(describeTapped(tapped({ body: 'not json' })).failure).toEqual({ type: 'MalformedMessage', message: 'not an RPC envelope' });
  });

  it('reads a notification: publisher, event type, payload version, instance, request id; .error ones as failures', () => {
    const message = (eventType: string, priority: 'INFO' | 'ERROR', data: Record<string, unknown>) => ({
      message_id: 'n-1', publisher_id: 'ferry-compute:compute-1', event_type: eventType, priority, timestamp: '2026-12-04T22:41:03Z',
      payload: { 'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.8', 'nova_object.data': data },
    });
    const info = describeTapped(tapped({ route: 'notification', address: 'versioned_notifications.info', body: encodeNotification(message('instance.resize.start', 'INFO', { uuid: UUID, request_id: 'req-1', fault: null })).toString() }));
    expect(info).toMatchObject({
      kind: 'notification', sender: 'ferry-compute:compute-1', target: 'versioned_notifications', method: 'instance.resize.start', version: '1.8',
      instance: UUID, request_id: 'req-1', msg_id: 'n-1', failure: null,
    });
    const fault = { 'nova_object.data': { exception: 'DiskCopyFailed', exception_message: 'no space left' } };
    const error = describeTapped(tapped({ route: 'notification', address: 'versioned_notifications.error', body: JSON.stringify(message('instance.resize.error', 'ERROR', { uuid: UUID, fault })) }));
    expect(error.failure).toEqual({ type: 'DiskCopyFailed', message: 'no space left' });
  });
});
