// The baseline for the API benchmark: a bare fastify server answering the same two requests with one SQL
// statement each and no auth, validation, policy or views — what any HTTP+Postgres service pays at minimum.
import Fastify from 'fastify';
import pg from 'pg';

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.BASELINE_DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });
  app.get('/servers/detail', async () => {
    const { rows } = await pool.query(
      `SELECT * FROM instances WHERE deleted_at IS NULL ORDER BY created_at DESC, uuid DESC LIMIT 1000`,
    );
    return { servers: rows };
  });
  app.post<{ Params: { id: string } }>('/servers/:id/action', async (req, reply) => {
    await pool.query(`UPDATE instances SET vm_state = 'active', task_state = NULL, updated_at = now() WHERE uuid = $1`, [req.params.id]);
    return reply.code(202).send();
  });
  await app.listen({ host: '127.0.0.1', port: Number(process.env.BASELINE_PORT) });
  process.stdout.write('baseline listening\n');
  process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
}

void main();
