// Evacuation benchmark: 50 servers (written past the API's quota of 10) on one fake host of a `ferry up` on Postgres, the host forced down, `ferry host evacuate` at a
// few concurrencies; prints the time from the force-down to every server ACTIVE on another host.
import { EvacuationCloud } from '../support/host-evacuation';

const SERVERS = Number(process.env.BENCH_SERVERS ?? 50);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCIES ?? '1,10,50').split(',').map(Number);

async function once(concurrency: number): Promise<number> {
  const cloud = await EvacuationCloud.start({ postgres: true });
  try {
    await cloud.seedOnFirstHost(SERVERS);
    const run = await cloud.evacuate('compute-1', concurrency);
    if (run.cli.code !== 0) throw new Error(`ferry host evacuate exited ${run.cli.code}: ${run.cli.stderr}\n${run.cli.stdout}`);
    return run.seconds;
  } finally {
    await cloud.close();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`| servers | concurrency | host down → all ACTIVE elsewhere |\n|---|---|---|\n`);
  for (const c of CONCURRENCIES) {
    const seconds = await once(c);
    process.stdout.write(`| ${SERVERS} | ${c} | ${seconds.toFixed(1)} s |\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
