// A CI-sized run of bench:scale: 100 fake hosts in this process and 1,000 instances over RabbitMQ and Postgres, at the
// default heartbeat and report intervals. Every host stays up and reports its usage, for under one liveness write per
// second per 100 hosts.
import { BenchCluster } from '../../bench/support/bench-cluster';
import { hostsUpAndReporting, livenessWriteRate, waitForActive, waitForReports } from '../../bench/support/scale-probe';

const HOSTS = 100;
const INSTANCES = 1000;

describe('scale sample: 100 fake hosts, 1,000 instances', () => {
  let cluster: BenchCluster;

  beforeAll(async () => {
    cluster = await BenchCluster.start({
      bus: 'amqp', database: 'postgres', poolSize: 20,
      hosts: Array.from({ length: HOSTS }, (_, i) => `sample-${String(i + 1).padStart(3, '0')}`),
      driver: { vcpus: 64, memoryMb: 128 * 1024, diskGb: 2000 },
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  }, 120_000);

  it('boots every instance, keeps every host up and reporting, under one write per second per 100 hosts', async () => {
    const flavor = await cluster.createFlavor({ name: 'sample.tiny', vcpus: 1, memory_mb: 64, root_gb: 0 });
    await cluster.requestBuilds(flavor, INSTANCES, 100);
    await waitForActive(cluster.ds, INSTANCES, 240);
    // Every host's report of the builds' changes (a loaded machine runs the report passes late), then a quiet window
    // of two heartbeats: a host reports only what changed, so nothing but heartbeats may write in it.
    await waitForReports(cluster.ds, HOSTS, cluster.config.serviceDownSeconds, 120);
    const rate = await livenessWriteRate(2 * cluster.config.heartbeatSeconds + 1, HOSTS);
    expect(rate.heartbeats).toBeGreaterThanOrEqual(1);
    expect(rate.per100).toBeLessThanOrEqual(1);
    expect(await hostsUpAndReporting(cluster.ds, cluster.config.serviceDownSeconds)).toEqual({ up: HOSTS, reporting: HOSTS });
  }, 420_000);
});
