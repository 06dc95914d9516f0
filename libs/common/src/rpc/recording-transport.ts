// A transport that records what clients hand it and answers calls with a canned reply: for unit tests of clients.
import type { Envelope } from './envelope';
import type { Target } from './target';
import type { Transport } from './transport';

/** Records what the client hands the transport and answers with a canned reply body. */
export function recordingTransport(reply: unknown = { result: { accepted: true } }) {
  const sent: { kind: 'call' | 'cast'; target: Target; envelope: Envelope; timeoutMs: number }[] = [];
  const transport: Transport = {
    connected: true,
    call: async (target, envelope, timeoutMs) => {
      sent.push({ kind: 'call', target, envelope, timeoutMs });
      return reply;
    },
    cast: async (target, envelope, timeoutMs) => {
      sent.push({ kind: 'cast', target, envelope, timeoutMs });
    },
    listen: async () => ({ stop: async () => undefined }),
    onStateChange: () => () => undefined,
    close: async () => undefined,
    notify: async () => undefined,
    listenNotifications: async () => ({ stop: async () => undefined }),
    tap: async () => ({ stop: async () => undefined, stats: async () => ({ waiting: 0, dropped: 0 }) }),
  };
  return { transport, sent };
}
