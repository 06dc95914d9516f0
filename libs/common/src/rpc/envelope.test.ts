import { FerryError } from '../domain/errors/ferry-error';
import { registerErrorTypes } from '../domain/errors/catalog';
import { newRequestContext } from './context';
import { buildEnvelope, errorFromFailure, failureOf, parseEnvelope, resultOf } from './envelope';
import { MalformedMessage, MessagingTimeout, RemoteError } from './errors';
import { makeTarget } from './target';

class FlavorNotFound extends FerryError {
  override readonly code: string = 'EnvelopeTestFlavorNotFound';
  override readonly httpStatus: number = 404;
}
registerErrorTypes(FlavorNotFound);

describe('envelope', () => {
  const ctx = newRequestContext({ user_id: 'u1', project_id: 'p1', roles: ['admin'] });

  it('carries method, args, version, context and a unique id', () => {
    const env = buildEnvelope(makeTarget({ topic: 'compute', version: '1.2' }), ctx, 'resize', { flavor: 'm1' });
    expect(env).toEqual({ method: 'resize', args: { flavor: 'm1' }, version: '1.2', context: ctx, _unique_id: expect.any(String) });
    expect(buildEnvelope(makeTarget({ topic: 'compute' }), ctx, 'x', {}).version).toBe('1.0');
  });

  it('survives a JSON round trip', () => {
    const env = { ...buildEnvelope(makeTarget({ topic: 'c', namespace: 'ns' }), ctx, 'm', { a: [1] }), _msg_id: 'id', _reply_q: 'q' };
    expect(parseEnvelope(JSON.parse(JSON.stringify(env)))).toEqual(env);
  });

  it('defaults missing args to an empty object and rebuilds a missing context', () => {
    const env = parseEnvelope({ method: 'm', version: '1.0' });
    expect(env.args).toEqual({});
    expect(env.context.request_id).toMatch(/^req-/);
    expect(env.context.roles).toEqual([]);
  });

  it('drops context fields of the wrong type', () => {
    const env = parseEnvelope({ method: 'm', version: '1.0', context: { request_id: 'req-1', user_id: 7, roles: ['a', 3] } });
    expect(env.context).toEqual({ request_id: 'req-1', roles: ['a'] });
  });

  it.each([
    ['not an object', 'hello'],
    ['an array', []],
    ['no method', { version: '1.0' }],
    ['array args', { method: 'm', version: '1.0', args: [] }],
    ['bad version', { method: 'm', version: 'one' }],
  ])('refuses %s with MalformedMessage', (_what, body) => {
    expect(() => parseEnvelope(body)).toThrow(MalformedMessage);
  });

  it('encodes FerryErrors with their code and other errors with their name', () => {
    expect(failureOf(new FlavorNotFound('no flavor m9', { flavor: 'm9' }))).toEqual({
      type: 'EnvelopeTestFlavorNotFound',
      message: 'no flavor m9',
      retryable: false,
      details: { flavor: 'm9' },
    });
    expect(failureOf(new TypeError('x is undefined'))).toEqual({ type: 'TypeError', message: 'x is undefined', retryable: false });
    expect(failureOf('a string')).toEqual({ type: 'Error', message: 'a string', retryable: false });
  });

  it('rebuilds allow-listed types and wraps the rest in RemoteError', () => {
    const typed = errorFromFailure({ type: 'EnvelopeTestFlavorNotFound', message: 'gone', retryable: false, details: { flavor: 'm9' } });
    expect(typed).toBeInstanceOf(FlavorNotFound);
    expect(typed).toMatchObject({ message: 'gone', details: { flavor: 'm9' }, httpStatus: 404 });
    expect(errorFromFailure({ type: 'MessagingTimeout', message: 't', retryable: true })).toBeInstanceOf(MessagingTimeout);

    const remote = errorFromFailure({ type: 'TypeError', message: 'x is undefined', retryable: true });
    expect(remote).toBeInstanceOf(RemoteError);
    expect(remote).toMatchObject({ code: 'RemoteError', remoteType: 'TypeError', retryable: true });
    expect(remote.message).toContain('x is undefined');
  });

  it('reads a reply: result, failure, or nonsense', () => {
    expect(resultOf({ result: { ok: true } })).toEqual({ ok: true });
    expect(resultOf({})).toBeUndefined();
    expect(() => resultOf({ failure: { type: 'EnvelopeTestFlavorNotFound', message: 'gone' } })).toThrow(FlavorNotFound);
    expect(() => resultOf({ failure: { message: 'no type' } })).toThrow(MalformedMessage);
    expect(() => resultOf(null)).toThrow(MalformedMessage);
  });
});
