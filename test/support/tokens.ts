// Keystone password tokens for tests and benches: the request body a client sends, and a token issued over HTTP or
// through fastify's inject. Each throws with the answer when the token is not issued (201).
import type { FastifyInstance } from 'fastify';

/** A project-scoped password authentication of user (its project has the user's name, as the seeded users). */
export function passwordAuthBody(user: string, password: string, project = user) {
  return { auth: {
    identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
    scope: { project: { name: project, domain: { name: 'Default' } } },
  } };
}

/** A token from the Keystone API at baseUrl (the API's root, without /identity). */
export async function fetchToken(baseUrl: string, user: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(passwordAuthBody(user, password)),
  });
  if (res.status !== 201) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`);
  return res.headers.get('x-subject-token')!;
}

/** A token from an app that is not listening, through inject. */
export async function injectToken(app: FastifyInstance, user: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: passwordAuthBody(user, password) });
  if (res.statusCode !== 201) throw new Error(`token for ${user}: ${res.statusCode} ${res.body}`);
  return String(res.headers['x-subject-token']);
}
