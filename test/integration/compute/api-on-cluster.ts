// The API (buildApp, in this process) on a test cluster's database and bus, and identity tokens from it.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { silentLogger } from '@ferry/common/log';
import type { Cluster } from './cluster';

export async function apiOn(cluster: Cluster): Promise<FastifyInstance> {
  const app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
  await app.ready();
  return app;
}

/** A project-scoped token of a seeded user (`admin` / `demo`, project of the same name). */
export async function tokenFrom(app: FastifyInstance, user: string, password: string): Promise<string> {
  const res = await app.inject({
    method: 'POST', url: '/identity/v3/auth/tokens',
    payload: { auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      scope: { project: { name: user, domain: { name: 'Default' } } },
    } },
  });
  if (res.statusCode !== 201) throw new Error(`token for ${user}: ${res.statusCode} ${res.body}`);
  return res.headers['x-subject-token'] as string;
}
