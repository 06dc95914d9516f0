// The `ferry` command line.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, settingsTable, type FerryConfig } from '@ferry/common/config';
import { FERRY_VERSION, ServiceLeaseHeld, ServiceLeaseLost } from '@ferry/common/service';
import { audit } from './commands/audit';
import { hostEvacuate } from './commands/host-evacuate';
import { dbMigrate } from './commands/db';
import { runService, UsageError, type ServiceName } from './commands/service';
import { status } from './commands/status';
import { setPassword } from './commands/user';
import { PublishedPasswordsError } from '@ferry/api';
import { up } from './commands/up';
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
    .action(async (o: { computes?: number; port?: number }) => up(readConfig(overrides({ upComputes: o.computes, apiPort: o.port }))));

  for (const name of ['api', 'scheduler', 'compute'] as ServiceName[]) {
    program
      .command(name)
      .description(`run the ${name} service alone (needs FERRY_DATABASE_URL and FERRY_TRANSPORT_URL)`)
      .addOption(new Option('--host <host>', name === 'compute' ? 'host name this compute service manages' : 'host name to register under'))
      .action(async (o: { host?: string }) => {
        const config = readConfig(overrides({ host: o.host }));
        if (name === 'compute' && !config.host) throw new UsageError('ferry compute needs --host <name> (or FERRY_HOST)');
        await runService(name, config, defaultHost(config));
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
    .command('host')
    .description('whole-host operations')
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
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof PublishedPasswordsError || err instanceof ServiceLeaseHeld) {
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
