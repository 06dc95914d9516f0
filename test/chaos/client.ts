// A small Compute API client for the harness: an admin token from the identity endpoint, the requests the flows
// make, and nothing else. A request to an API that is down (crashed) fails; only reads are retried.
import { fetchToken } from '../support/tokens';

export interface ServerView {
  id: string;
  status: string;
  [key: string]: unknown;
}

export interface ApiResult {
  status: number;
  body: unknown;
}

const VERSION = 'compute 2.65';

export class ChaosClient {
  private token: string | undefined;

  constructor(private readonly url: string, private readonly password: string) {}

  private async login(): Promise<string> {
    this.token = await fetchToken(this.url, 'admin', this.password);
    return this.token;
  }

  /** One request; a 401 logs in again once. Throws only when the API cannot be reached. */
  async request(method: string, path: string, body?: unknown): Promise<ApiResult> {
    for (let attempt = 0; ; attempt++) {
      const token = this.token ?? (await this.login());
      const res = await fetch(`${this.url}${path}`, {
        method, signal: AbortSignal.timeout(30_000),
        headers: { 'x-auth-token': token, 'content-type': 'application/json', 'openstack-api-version': VERSION },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    }
  }

  /** A read, retried while the API is unreachable (restarting) for up to timeoutMs. */
  async read(path: string, timeoutMs = 30_000): Promise<ApiResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.request('GET', `/compute/v2.1${path}`);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  /**
   * A request the user makes once: an API that crashed on it is an answer too (status 0). An API that refuses the
   * connection (restarting) never saw the request, and one that answers 503 (its database restarting) changed nothing:
   * the user sends it again, as anyone would.
   */
  async act(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await this.request(method, `/compute/v2.1${path}`, body);
        // The API answered that its database is unavailable (restarting): nothing changed, so the user tries again.
        if (res.status === 503 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        return res;
      } catch (err) {
        if (refused(err) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 300));
          continue;
        }
        return { status: 0, body: { error: (err as Error).message } };
      }
    }
  }

  async imageId(name: string): Promise<string> {
    const token = this.token ?? (await this.login());
    const res = await fetch(`${this.url}/image/v2/images?name=${encodeURIComponent(name)}`, { headers: { 'x-auth-token': token } });
    const body = (await res.json()) as { images: { id: string }[] };
    if (!body.images[0]) throw new Error(`no image named ${name}`);
    return body.images[0].id;
  }
}

/** The connection was refused: nothing listened, so the request was never received. */
function refused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code === 'ECONNREFUSED';
}
