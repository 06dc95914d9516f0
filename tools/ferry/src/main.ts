// The `ferry` command line.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, settingsTable, type FerryConfig } from '@ferry/common/config';
import { FERRY_VERSION, ServiceLeaseHeld, ServiceLeaseLost, StartRefused } from '@ferry/common/service';
import { audit } from './commands/audit';
import type { BusTailOptions } from './commands/bus-tail';
import { drainCancel, drainList, drainShow, hostDrain, type HostDrainOptions } from './commands/host-drain';
import { hostEvacuate } from './commands/host-evacuate';
import { dbMigrate } from './commands/db';
import { migrationList, migrationShow, migrationWatch } from './commands/migration';
import { serverCleanup } from './commands/server-cleanup';
import { runService, UsageError, type ServiceName } from './commands/service';
import { status } from './commands/status';
import { expandHostList, HostListError } from './host-list';
import { setPassword } from './commands/user';
import { StopIncomplete } from './stop-services';
import { defaultHost, readConfig } from './runtime';

function buildProgram(): Command {
  const program = new Command('ferry')
    .description('Ferry: moves virtual machines between hypervisor hosts, behind the OpenStack Compute API')
    .version(FERRY_VERSION)
    .showHelpAfterError();

  program
    .command('up')
    .description('run every service in one process (embedded Postgres and in-process bus unless FERRY_DATABASE_URL / FERRY_TRANSPORT_URL are set)')
    .addOption(new Option('--computes <n>', 'number of fake compute hosts').argParser(positiveInt))
    .addOption(new Option('--port <port>', 'API port').argParser(port))
    .action(async (o: { computes?: number; port?: number }) => {
      // Loaded here: every service's code, which no other command needs.
      const { up } = await import('./commands/up.js');
      await up(readConfig(overrides({ upComputes: o.computes, apiPort: o.port })));
    });

  for (const name of ['api', 'scheduler', 'compute'] as ServiceName[]) {
    const command = program
      .command(name)
      .description(`run the ${name} service alone (needs FERRY_DATABASE_URL and FERRY_TRANSPORT_URL)`)
      .addOption(new Option('--host <host>', name === 'compute' ? 'host name this compute service manages' : 'host name to register under'));
    if (name === 'compute') {
      command.addOption(new Option('--hosts <list>', 'a simulation (FERRY_DRIVER=fake): serve many fake hosts in this process, e.g. sim-[0001-1000]')
        .argParser(hostList).conflicts('host'));
    }
    command.action(async (o: { host?: string; hosts?: string[] }) => {
      const config = readConfig(overrides({ host: o.host }));
      if (o.hosts) return runService(name, config, o.hosts);
      if (name === 'compute' && !config.host) throw new UsageError('ferry compute needs --host <name>, --hosts <list> (or FERRY_HOST)');
      await runService(name, config, [defaultHost(config)]);
    });
  }

  program
    .command('db')
    .description('database administration')
    .command('migrate')
    .description('apply pending schema migrations and seed a fresh database')
    .action(async () => dbMigrate(readConfig()));

  program
    .command('user')
    .description('identity administration')
    .command('password <name>')
    .description('set the password of user <name>, read from the first line of standard input')
    .action(async (name: string) => setPassword(readConfig(), name));

  program
    .command('status')
    .description('list services with heartbeat age and up/down state')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => status(readConfig(), o));

  program
    .command('audit')
    .description('compare what every compute host holds with the database (read only); exit 0 clean, 1 problems, 3 a host did not answer')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      process.exitCode = await audit(readConfig(), o);
    });

  program
    .command('bus')
    .description('the message bus')
    .command('tail')
    .description('every call, cast, reply and notification as it happens: replies with their latency, failures in red; ' +
      'taps RabbitMQ when FERRY_TRANSPORT_URL names it, otherwise reads the API\'s admin stream (the all-in-one\'s in-process bus)')
    .option('--topic <topic>', 'only this RPC topic (versioned_notifications: only notifications)')
    .option('--method <method>', 'only this RPC method or notification event type')
    .option('--instance <uuid>', 'only messages about this instance')
    .option('--host <host>', 'only messages from or to this host')
    .option('--request-id <id>', 'only messages of this request')
    .option('--json', 'JSON lines (the default when stdout is not a terminal)')
    .option('--api', 'read the API\'s stream (GET /os-ferry-bus) even when FERRY_TRANSPORT_URL names a broker')
    .addOption(new Option('--backlog <n>', 'RabbitMQ: messages the broker keeps for the tail while it lags (default 100000); beyond, it drops the oldest and the tail counts them').argParser(positiveInt))
    .action(async (o: BusTailOptions) => {
      // Loaded here: the API's tap (and the API's code with it), which no service process needs.
      const { busTail } = await import('./commands/bus-tail.js');
      process.exitCode = await busTail(readConfig(), o);
    });

  const migration = program.command('migration').description('moves as the API records them (admin)');
  migration
    .command('list')
    .description('list moves, newest first')
    .option('--status <status>', 'only moves in this status')
    .option('--type <type>', 'only moves of this type (migration, resize, live-migration, evacuation)')
    .option('--host <host>', 'only moves from or to this host')
    .option('--instance <uuid>', "only this server's moves")
    .option('--in-progress', 'only moves under way')
    .option('--json', 'machine-readable output')
    .action(async (o: { status?: string; type?: string; host?: string; instance?: string; inProgress?: boolean; json?: boolean }) => migrationList(readConfig(), o));
  migration
    .command('show <id>')
    .description('one move (by id or uuid) with its phases and timings')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => migrationShow(readConfig(), id, o));
  migration
    .command('watch [id]')
    .description('follow one move, or every move in flight, until it ends; exit 1 if one failed')
    .addOption(new Option('--interval <ms>', 'milliseconds between looks').argParser(positiveInt).default(1000))
    .action(async (id: string | undefined, o: { interval: number }) => {
      process.exitCode = await migrationWatch(readConfig(), id, { intervalMs: o.interval });
    });

  program
    .command('server')
    .description('server administration')
    .command('cleanup <id>')
    .description('converge one server from its last move and what every host holds (finish forward, roll back, rename back, adopt); exit 0 done, 1 refused')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      process.exitCode = await serverCleanup(readConfig(), id, o);
    });

  const host = program
    .command('host')
    .description('whole-host operations');
  host
    .command('drain <host>')
    .description('disable a compute host and move every server off it (live where it can, cold where it must), in the server; progress, then a summary (exit 0 all moved, 1 some failed, skipped or cancelled, 130 interrupted: the drain goes on)')
    .addOption(new Option('--mode <mode>', 'live: only live migrations; cold: only cold ones (confirmed automatically); auto: live for running servers, cold for stopped ones').choices(['live', 'cold', 'auto']))
    .addOption(new Option('--concurrency <n>', 'moves off the host at once (default FERRY_DRAIN_PARALLEL_PER_HOST)').argParser(positiveInt))
    .option('--dry-run', 'show the plan (order, how each server moves) and change nothing')
    .option('--no-wait', 'start the drain and return')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: HostDrainOptions) => {
      process.exitCode = await hostDrain(readConfig(), name, o);
    });
  host
    .command('drain-cancel <drain-id>')
    .description('stop a drain starting new moves (those under way finish); same as `ferry drain cancel`')
    .action(async (id: string) => {
      process.exitCode = await drainCancel(readConfig(), id);
    });
  const drain = program.command('drain').description('host drains: list, show, cancel');
  drain
    .command('list')
    .description('every drain, newest first, with its progress')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      process.exitCode = await drainList(readConfig(), o);
    });
  drain
    .command('show <drain-id>')
    .description('one drain: progress and where each server stands (failed and skipped ones with the reason)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      process.exitCode = await drainShow(readConfig(), id, o);
    });
  drain
    .command('cancel <drain-id>')
    .description('stop a drain starting new moves; those under way finish, the host stays disabled')
    .action(async (id: string) => {
      process.exitCode = await drainCancel(readConfig(), id);
    });
  host
    .command('evacuate <host>')
    .description('evacuate every server of a down compute host, at most N at a time; progress, then a summary (exit 0 all evacuated, 1 some failed or skipped)')
    .option('--concurrency <n>', 'evacuations under way at once (default 5)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a positive integer, got "${v}"`);
      return n;
    })
    .option('--json', 'print the final state of the batch as JSON')
    .action(async (host: string, o: { concurrency?: number; json?: boolean }) => {
      process.exitCode = await hostEvacuate(readConfig(), host, o);
    });

  program
    .command('config')
    .description('list every setting, its default and meaning')
    .action(() => {
      process.stdout.write(settingsTable() + '\n');
    });

  return program;
}

function overrides(o: Partial<FerryConfig>): Partial<FerryConfig> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<FerryConfig>;
}

function hostList(raw: string): string[] {
  try {
    return expandHostList(raw);
  } catch (err) {
    if (err instanceof HostListError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${raw}"`);
  return n;
}

function port(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number, got "${raw}"`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof StartRefused || err instanceof ServiceLeaseHeld) {
      process.stderr.write(`ferry: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof ServiceLeaseLost || err instanceof StopIncomplete) {
      process.stderr.write(`ferry: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`ferry: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

void main(process.argv);
