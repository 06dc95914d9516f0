// The fault of an .error notification: what was thrown, where, and nothing secret.
import { FerryError } from '../domain/errors/ferry-error';
import { exceptionName, exceptionPayload, maskSecrets } from './exception-payload';

class DiskCopyFailed extends FerryError {
  override readonly code: string = 'DiskCopyFailed';
}

function copyDisk(): never {
  throw new Error('sftp to compute-2 failed');
}

describe('exceptionPayload', () => {
  it('is an ExceptionPayload 1.1 naming the error class and message', () => {
    let err: unknown;
    try {
      copyDisk();
    } catch (e) {
      err = e;
    }
    const p = exceptionPayload(err);
    expect(p['nova_object.name']).toBe('ExceptionPayload');
    expect(p['nova_object.version']).toBe('1.1');
    expect(p['nova_object.data']).toMatchObject({
      exception: 'Error',
      exception_message: 'sftp to compute-2 failed',
      function_name: 'copyDisk',
      module_name: 'exception-payload.test',
    });
    expect(p['nova_object.data'].traceback).toContain('copyDisk');
  });

  it("uses a FerryError's stable code as the exception", () => {
    expect(exceptionName(new DiskCopyFailed('no space'))).toBe('DiskCopyFailed');
    expect(exceptionName(new TypeError('x'))).toBe('TypeError');
    expect(exceptionName('a string')).toBe('string');
  });

  it('copes with something thrown that is not an Error', () => {
    expect(exceptionPayload('plain text')['nova_object.data']).toMatchObject({
      exception: 'string', exception_message: 'plain text', module_name: 'unknown', function_name: 'unknown', traceback: '',
    });
  });

  it('masks credentials in the message and traceback', () => {
    const data = exceptionPayload(new Error('cannot reach amqp://ferry:s3cret@mq:5672/ (password=hunter2)'))['nova_object.data'];
    expect(data.exception_message).toBe('cannot reach amqp://ferry:***@mq:5672/ (password=***)');
    expect(data.traceback).not.toContain('s3cret');
    expect(data.traceback).not.toContain('hunter2');
  });
});

describe('maskSecrets', () => {
  it.each([
    ['postgres://u:p@db/x', 'postgres://u:***@db/x'],
    ['{"token": "abc123", "x": 1}', '{"token": "***", "x": 1}'],
    ['adminPass=Zx9&next=1', 'adminPass=***&next=1'],
    ['nothing to hide here', 'nothing to hide here'],
  ])('%s', (text, masked) => {
    expect(maskSecrets(text)).toBe(masked);
  });
});
