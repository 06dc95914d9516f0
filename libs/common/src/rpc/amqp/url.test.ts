import { connectionUrl, redactUrl } from './url';

describe('broker URLs', () => {
  it('never shows the password', () => {
    expect(redactUrl('amqp://ferry:s3cret@rabbit:5672/ferry')).toBe('amqp://ferry:***@rabbit:5672/ferry');
    expect(redactUrl('amqp://rabbit')).toBe('amqp://rabbit');
    expect(redactUrl('not a url with s3cret')).not.toContain('s3cret');
  });

  it('asks for a heartbeat unless the URL sets one', () => {
    expect(connectionUrl('amqp://u:p@h:5672/v')).toBe('amqp://u:p@h:5672/v?heartbeat=15');
    expect(connectionUrl('amqp://h/v?heartbeat=5')).toBe('amqp://h/v?heartbeat=5');
  });
});
