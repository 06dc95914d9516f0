import { newRequestContext, type RequestContext } from './context';
import { RpcVersionCapped } from './errors';
import { PinnedClient, type VersionPins } from './pinned-client';
import { recordingTransport } from './recording-transport';
import { versionsInHistory } from './version-history';

interface Endpoint {
  old_method(ctx: RequestContext, args: { id: number }): Promise<void>;
  newer_method(ctx: RequestContext, args: { id: number }): Promise<void>;
  newest_call(ctx: RequestContext, args: Record<string, never>): Promise<string>;
}
const PINS: VersionPins<Endpoint> = { old_method: '1.0', newer_method: '1.2', newest_call: '1.4' };
const ctx = newRequestContext({ user_id: 'u' });

describe('PinnedClient', () => {
  it('sends each method at its own version, to the server asked for', async () => {
    const { transport, sent } = recordingTransport({ result: 'ok' });
    const client = new PinnedClient<Endpoint>(transport, { topic: 'thing', pins: PINS, capSetting: 'CAP' });
    await client.cast(ctx, 'old_method', { id: 1 }, { server: 'h1' });
    await client.cast(ctx, 'newer_method', { id: 2 });
    expect(await client.call(ctx, 'newest_call', {})).toBe('ok');
    expect(sent.map((s) => [s.envelope.method, s.envelope.version, s.target.server])).toEqual([
      ['old_method', '1.0', 'h1'], ['newer_method', '1.2', undefined], ['newest_call', '1.4', undefined],
    ]);
  });

  it('under a cap sends what the cap allows and refuses the rest with a 409 naming method, version, cap and setting', async () => {
    const { transport, sent } = recordingTransport({ result: 'ok' });
    const client = new PinnedClient<Endpoint>(transport, { topic: 'thing', pins: PINS, cap: '1.2', capSetting: 'FERRY_UPGRADE_LEVELS_THING' });
    await client.cast(ctx, 'newer_method', { id: 2 });
    expect([client.versionOf('old_method'), client.versionOf('newer_method')]).toEqual(['1.0', '1.2']);
    expect(() => client.versionOf('newest_call')).toThrow(RpcVersionCapped);
    const refused = client.call(ctx, 'newest_call', {});
    await expect(refused).rejects.toBeInstanceOf(RpcVersionCapped);
    await expect(refused).rejects.toMatchObject({
      httpStatus: 409, message: expect.stringMatching(/newest_call: it needs version 1\.4, and FERRY_UPGRADE_LEVELS_THING caps thing messages at 1\.2/),
    });
    // Nothing of the refused call reached the bus.
    expect(sent.map((s) => s.envelope.method)).toEqual(['newer_method']);
  });

  it('refuses a malformed cap or pin when built', () => {
    const { transport } = recordingTransport();
    expect(() => new PinnedClient<Endpoint>(transport, { topic: 't', pins: PINS, cap: '1', capSetting: 'CAP' })).toThrow(/CAP must be "major.minor"/);
    expect(() => new PinnedClient<Endpoint>(transport, { topic: 't', pins: { ...PINS, old_method: 'one' }, capSetting: 'CAP' })).toThrow(/old_method is pinned to "one"/);
  });
});

describe('versionsInHistory', () => {
  it('reads the version each method arrived at, across continuation lines, and stops at the first line of code', () => {
    const source = [
      '// Client side of a topic.',
      '//',
      '// Version history:',
      '//   1.0  first_method, second_method (casts)',
      '//   1.1  third_method (call): what it does, with a word',
      '//        and fourth_method on the next line',
      '//   1.2  first_method again',
      "import x from 'y';",
      '//   1.3  late_method',
    ].join('\n');
    expect(Object.fromEntries(versionsInHistory(source))).toEqual({
      first_method: ['1.0', '1.2'], second_method: ['1.0'], third_method: ['1.1'], fourth_method: ['1.1'],
    });
  });
});
