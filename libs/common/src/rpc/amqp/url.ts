// Broker URLs: what we connect with, and what we may print (never the password).

/** url with its password replaced, for log lines and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable broker URL>';
  }
}

export function isAmqpUrl(url: string): boolean {
  return url.startsWith('amqp://') || url.startsWith('amqps://');
}

/** Heartbeat asked for unless the URL says otherwise: a dead peer is noticed within ~2 intervals. */
export const DEFAULT_HEARTBEAT_S = 15;

/** url with a heartbeat set when it has none. */
export function connectionUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(DEFAULT_HEARTBEAT_S));
  return u.toString();
}
