// A private RabbitMQ node for one chaos run (its own node name, ports, mnesia and log directories): the harness may
// cut its connections and restart it without touching the machine's shared broker.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RABBIT_BIN = process.env.FERRY_CHAOS_RABBIT_BIN ?? '/usr/lib/rabbitmq/bin';

export interface PrivateRabbit {
  readonly url: string;
  readonly node: string;
  /** rabbitmqctl close_all_connections: every client loses its connection at once. */
  closeAllConnections(): Promise<void>;
  /** stop_app then start_app: the node goes away and comes back with its durable queues. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRabbit(baseDir: string, name: string, port: number, distPort: number): Promise<PrivateRabbit> {
  const dir = join(baseDir, 'rabbitmq');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const plugins = join(dir, 'enabled_plugins');
  writeFileSync(plugins, '[].\n');
  chmodSync(plugins, 0o666);
  const node = `${name}@localhost`;
  const env = {
    PATH: process.env.PATH, HOME: '/var/lib/rabbitmq', RABBITMQ_NODENAME: node, RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1', RABBITMQ_DIST_PORT: String(distPort), RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'), RABBITMQ_PID_FILE: join(dir, 'pid'), RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
  };
  // As the rabbitmq user when root, so the node and rabbitmqctl share the broker user's Erlang cookie.
  const as = (cmd: string, args: string[], timeout = 120_000) => {
    const full = join(RABBIT_BIN, cmd);
    return userInfo().uid === 0
      ? run('runuser', ['-u', 'rabbitmq', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), full, ...args], { timeout, cwd: dir })
      : run(full, args, { timeout, env, cwd: dir });
  };
  const ctl = (...args: string[]) => as('rabbitmqctl', ['-n', node, ...args]);
  /** await_startup, tried again while the node has not even registered with epmd yet. */
  const awaitStartup = async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await ctl('await_startup', '--timeout', '10');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  await as('rabbitmq-server', ['-detached']);
  try {
    await awaitStartup();
  } catch (err) {
    await ctl('stop').catch(() => undefined);
    throw err;
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    async closeAllConnections() {
      await ctl('close_all_connections', 'chaos: connections cut');
    },
    async restart() {
      await ctl('stop_app');
      await ctl('start_app');
      await awaitStartup();
    },
    async stop() {
      await ctl('stop').catch(() => undefined);
    },
  };
}
