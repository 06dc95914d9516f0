import { ConfigError, loadConfig, redactUrl, settingsTable, SETTINGS } from './index';

describe('config', () => {
  it('applies documented defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c.apiPort).toBe(8774);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.transportUrl).toBeUndefined();
    expect(c.driver).toBe('fake');
    expect(c.upComputes).toBe(3);
  });

  it('parses values from the environment', () => {
    const c = loadConfig({ FERRY_API_PORT: '9000', FERRY_DRIVER: 'qemu', FERRY_TRANSPORT_URL: 'amqp://guest:guest@127.0.0.1:5672' });
    expect(c.apiPort).toBe(9000);
    expect(c.driver).toBe('qemu');
    expect(c.transportUrl).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it.each([
    ['FERRY_API_PORT', 'eighty'],
    ['FERRY_API_PORT', '70000'],
    ['FERRY_DRIVER', 'xen'],
    ['FERRY_DATABASE_URL', 'mysql://x'],
    ['FERRY_TRANSPORT_URL', 'not a url'],
    ['FERRY_HOST', 'bad host!'],
  ])('a bad %s (%s) is refused with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid ${name}: `));
  });

  it('overrides win over the environment', () => {
    expect(loadConfig({ FERRY_API_PORT: '9000' }, { apiPort: 0 }).apiPort).toBe(0);
  });

  it('documents every setting in the table', () => {
    const table = settingsTable();
    for (const s of Object.values(SETTINGS)) expect(table).toContain(`\`${s.env}\``);
  });

  it('redacts passwords from URLs', () => {
    expect(redactUrl('amqp://guest:secret@h:5672/')).toBe('amqp://guest:***@h:5672/');
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
