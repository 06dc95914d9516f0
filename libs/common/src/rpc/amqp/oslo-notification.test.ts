// oslo's notification envelope: what goes on the wire and what a tap accepts back.
import { MalformedMessage } from '../errors';
import type { NotificationMessage } from '../transport';
import { decodeNotification, encodeNotification } from './oslo-notification';

const message: NotificationMessage = {
  message_id: 'b3f2c2a4-6d3e-4a6f-9b7e-1f0c2d3e4f50',
  publisher_id: 'ferry-compute:compute-1',
  event_type: 'instance.resize.end',
  priority: 'INFO',
  timestamp: '2024-05-01T10:00:00.000Z',
  payload: { 'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.7', 'nova_object.data': { uuid: 'i-1' } },
};

describe('oslo notification envelope', () => {
  it('wraps the message as a JSON string under oslo.message, version 2.0', () => {
    const body = JSON.parse(encodeNotification(message).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['oslo.message', 'oslo.version']);
    expect(body['oslo.version']).toBe('2.0');
    expect(JSON.parse(body['oslo.message'] as string)).toEqual(message);
  });

  it('decodes what it encodes', () => {
    expect(decodeNotification(encodeNotification(message))).toEqual(message);
  });

  it('accepts a message without the envelope and a priority in any case, as oslo does', () => {
    expect(decodeNotification(Buffer.from(JSON.stringify({ ...message, priority: 'error' })))).toEqual({ ...message, priority: 'ERROR' });
  });

  it.each([
    ['not JSON', 'nope'],
    ['an oslo.message that is not a string', JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': {} })],
    ['an oslo.message that is not JSON', JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{' })],
    ['no event_type', JSON.stringify({ ...message, event_type: undefined })],
    ['an unknown priority', JSON.stringify({ ...message, priority: 'SAMPLE' })],
    ['a payload that is not a versioned object', JSON.stringify({ ...message, payload: { uuid: 'i-1' } })],
  ])('rejects %s', (_what, body) => {
    expect(() => decodeNotification(Buffer.from(body))).toThrow(MalformedMessage);
  });
});
