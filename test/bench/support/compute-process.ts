// The compute process of a split benchmark cluster (BenchCluster with computeProcess: true): one Node process serving
// many fake hosts, as a deployment's compute process may, forked by the parent and driven over its IPC channel.
// It connects to the parent's database without migrating it (the parent did), counts its own casts, notifications
// and SQL, and sends them with its CPU when asked, so the parent can add them to its own.
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@ferry/common/config';
import { openDatabase, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';
import type { RunningService } from '@ferry/common/service';
import { startCompute } from '@ferry/compute';
import { FakeDriver } from '@ferry/compute/drivers';
import { type ChildMessage, type ComputeProcessSpec, type ParentMessage, toWire } from './compute-process-protocol';
import { CountingTransport, MessageTally } from './counting-transport';
import { SqlCounter } from './sql-counter';

const tally = new MessageTally();
const sql = new SqlCounter();
const services: RunningService[] = [];
const transports: Transport[] = [];
let db: FerryDatabase | undefined;

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function start(spec: ComputeProcessSpec): Promise<void> {
  sql.install();
  const config = loadConfig({}, { stateDir: spec.stateDir, ...spec.config });
  db = await openDatabase({ url: spec.dbUrl, stateDir: spec.stateDir, poolSize: spec.poolSize });
  const newTransport = async () => {
    const inner = await createTransport({ url: spec.transportUrl, prefix: spec.prefix });
    transports.push(inner);
    return new CountingTransport(inner, tally);
  };
  const shared = spec.transportPerService ? undefined : await newTransport();
  for (const host of spec.hosts) {
    const driver = new FakeDriver({ ...spec.driver, host, stateDir: spec.stateDir });
    const transport = shared ?? (await newTransport());
    services.push(await startCompute({ config, db, log: silentLogger(), transport }, { host, driver }));
  }
}

/** Stops the services, then closes the bus connections and the pool; best effort, so the process can exit. */
async function stop(): Promise<void> {
  for (const s of services.splice(0).reverse()) await s.stop().catch(() => undefined);
  for (const t of transports.splice(0).reverse()) await t.close().catch(() => undefined);
  await db?.close().catch(() => undefined);
  sql.uninstall();
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      start(message.spec).then(
        () => send({ type: 'ready' }),
        (err: unknown) => send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
      return;
    case 'counts':
      send({ type: 'counts', id: message.id, counts: toWire(sql.snapshot(), tally.snapshot(), process.cpuUsage(), performance.eventLoopUtilization()) });
      return;
    case 'stop':
      void stop().finally(() => process.exit(0));
      return;
  }
});

// An orphan would keep serving hosts on a database about to be dropped: leave with the parent.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
