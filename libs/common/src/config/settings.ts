// Every setting Ferry reads from the environment, with its default and meaning: the one place they are documented.
import { parseCrashPoints } from '../chaos/crash-points';

export type Parser<T> = (raw: string) => T;

export interface Setting<T> {
  env: string;
  /** Default used when the variable is unset or empty; undefined means "unset is meaningful". */
  default: T;
  /** Shown in `ferry config` and the README table. */
  doc: string;
  parse: Parser<T>;
  /** Value to display for the default (secrets and computed defaults). */
  shownDefault?: string;
}

export const int = (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> => (raw) => {
  if (!/^-?\d+$/.test(raw.trim())) throw new Error(`expected an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`expected an integer between ${min} and ${max}, got ${n}`);
  return n;
};

export const num = (min: number, max = Number.MAX_VALUE): Parser<number> => (raw) => {
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new Error(`expected a number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new Error(`expected a number between ${min} and ${max}, got ${n}`);
  return n;
};

export const oneOf = <T extends string>(...values: T[]): Parser<T> => (raw) => {
  if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
};

export const url = (...schemes: string[]): Parser<string> => (raw) => {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error('expected a URL');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) throw new Error(`expected a ${schemes.join(' or ')} URL, got scheme "${scheme}"`);
  return raw;
};

export const text: Parser<string> = (raw) => raw;

/** An RPC API version, "major.minor". */
const rpcVersion: Parser<string> = (raw) => {
  if (!/^\d{1,6}\.\d{1,6}$/.test(raw.trim())) throw new Error(`expected an RPC version "major.minor", e.g. 1.5, got "${raw}"`);
  return raw.trim();
};

/** A FERRY_CRASH_POINT value: validated as crash points, kept as written (the crash-point module arms it). */
const crashPoints: Parser<string> = (raw) => {
  parseCrashPoints(raw);
  return raw;
};

export const hostname: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(raw)) throw new Error(`expected a host name (letters, digits, '.', '_', '-'), got "${raw}"`);
  return raw;
};

export const prefix: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.-]*$/.test(raw)) throw new Error(`expected letters, digits, '_', '.' or '-', got "${raw}"`);
  return raw;
};

const optional = <T>(p: Parser<T>): Parser<T | undefined> => p;

/** A port range written `MIN-MAX`. */
const portRange: Parser<{ min: number; max: number }> = (raw) => {
  const m = /^(\d+)-(\d+)$/.exec(raw.trim());
  const [min, max] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(min >= 1 && max <= 65535 && min <= max)) throw new Error(`expected a port range MIN-MAX within 1-65535, got "${raw}"`);
  return { min, max };
};

export const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error(`expected true or false, got "${raw}"`);
};

export const SETTINGS = {
  databaseUrl: {
    env: 'FERRY_DATABASE_URL', default: undefined, parse: optional(url('postgres', 'postgresql')),
    doc: 'Postgres connection URL. Unset: an embedded Postgres (PGlite) under FERRY_STATE_DIR, served on a local socket.',
    shownDefault: '(embedded)',
  } as Setting<string | undefined>,
  transportUrl: {
    env: 'FERRY_TRANSPORT_URL', default: undefined, parse: optional(url('amqp', 'amqps', 'inproc')),
    doc: 'RabbitMQ URL (amqp://user:pass@host:5672/vhost). Unset: the in-process bus (all services in one process).',
    shownDefault: '(in-process)',
  } as Setting<string | undefined>,
  busPrefix: {
    env: 'FERRY_BUS_PREFIX', default: '', parse: prefix,
    doc: 'Prefix for every exchange and queue name, to share one broker between deployments.',
    shownDefault: '(none)',
  } as Setting<string>,
  stateDir: {
    env: 'FERRY_STATE_DIR', default: '.ferry', parse: text,
    doc: 'Directory for host-local state: the embedded database, fake VMs and their disks.',
  } as Setting<string>,
  driver: {
    env: 'FERRY_DRIVER', default: 'fake', parse: oneOf('fake', 'qemu'),
    doc: 'Hypervisor driver of a compute service: fake (simulated VMs) or qemu (real VMs over QMP).',
  } as Setting<'fake' | 'qemu'>,
  host: {
    env: 'FERRY_HOST', default: undefined, parse: optional(hostname),
    doc: 'Host name a service registers under. Unset: the machine host name (compute: required by --host or this).',
    shownDefault: '(machine host name)',
  } as Setting<string | undefined>,
  apiListen: {
    env: 'FERRY_API_LISTEN', default: '127.0.0.1', parse: text,
    doc: 'Address the API binds to.',
  } as Setting<string>,
  apiPort: {
    env: 'FERRY_API_PORT', default: 8774, parse: int(0, 65535),
    doc: 'Port of the API (identity, compute and image endpoints share it). 0 picks a free port.',
  } as Setting<number>,
  publicUrl: {
    env: 'FERRY_PUBLIC_URL', default: undefined, parse: optional(url('http', 'https')),
    doc: 'Base URL clients use to reach the API, as published in the service catalog.',
    shownDefault: 'http://<listen>:<port>',
  } as Setting<string | undefined>,
  metricsListen: {
    env: 'FERRY_METRICS_LISTEN', default: '127.0.0.1', parse: text,
    doc: 'Address the metrics listener binds to (see FERRY_METRICS_PORT). It answers without a token: keep it on loopback or an internal network.',
  } as Setting<string>,
  metricsPort: {
    env: 'FERRY_METRICS_PORT', default: undefined, parse: optional(int(0, 65535)),
    doc: 'Port of a listener serving only GET /metrics (Prometheus text, no token) for this process: its RPC and reconciler figures, plus the database\'s in a process running the API. Unset: no listener (the API\'s /metrics still answers admin tokens). 0 picks a free port.',
    shownDefault: '(off)',
  } as Setting<number | undefined>,
  upComputes: {
    env: 'FERRY_UP_COMPUTES', default: 3, parse: int(1, 200),
    doc: '`ferry up`: how many fake compute hosts (compute-1..N) run in the process.',
  } as Setting<number>,
  heartbeatSeconds: {
    env: 'FERRY_HEARTBEAT_INTERVAL', default: 5, parse: int(1, 3600),
    doc: 'Seconds between service heartbeats written to the services table.',
  } as Setting<number>,
  serviceDownSeconds: {
    env: 'FERRY_SERVICE_DOWN_TIME', default: 30, parse: int(2, 86400),
    doc: 'A service whose last heartbeat is older than this many seconds is down.',
  } as Setting<number>,
  serviceLeaseSeconds: {
    env: 'FERRY_SERVICE_LEASE_SECONDS', default: undefined, parse: optional(int(2, 86400)),
    doc: 'Seconds a service\'s claim on its host (its lease on the services row) lasts without a heartbeat renewing it; a second process for the same host is refused until then. Must exceed FERRY_HEARTBEAT_INTERVAL.',
    shownDefault: '3 × FERRY_HEARTBEAT_INTERVAL',
  } as Setting<number | undefined>,
  selfFenceSeconds: {
    env: 'FERRY_SELF_FENCE_AFTER', default: undefined, parse: optional(int(1, 86400)),
    doc: 'A compute whose heartbeat has not reached the database for this many seconds (cut off, though alive) pauses every guest it runs, so that a host being evacuated never runs a second copy; once it reconnects it destroys its copies of instances evacuated away and resumes the guests the database places on it (looking again every 2 s at those it kept paused). Must exceed FERRY_HEARTBEAT_INTERVAL and be shorter than FERRY_SERVICE_DOWN_TIME.',
    shownDefault: '2/3 × FERRY_SERVICE_DOWN_TIME',
  } as Setting<number | undefined>,
  stopTimeoutSeconds: {
    env: 'FERRY_STOP_TIMEOUT', default: 30, parse: int(1, 3600),
    doc: 'Seconds a service given SIGTERM waits for its running steps to reach a safe point before it exits anyway (status 1, naming them).',
  } as Setting<number>,
  upgradeLevelsCompute: {
    env: 'FERRY_UPGRADE_LEVELS_COMPUTE', default: undefined, parse: optional(rpcVersion),
    doc: 'Newest compute RPC version any service sends (Nova\'s [upgrade_levels] compute), e.g. 1.5 while some computes run an older release; a request needing newer is refused with a 409. Unset: no cap.',
  } as Setting<string | undefined>,
  upgradeLevelsScheduler: {
    env: 'FERRY_UPGRADE_LEVELS_SCHEDULER', default: undefined, parse: optional(rpcVersion),
    doc: 'Newest scheduler RPC version any service sends ([upgrade_levels] scheduler), as FERRY_UPGRADE_LEVELS_COMPUTE. Unset: no cap.',
  } as Setting<string | undefined>,
  rpcTimeoutSeconds: {
    env: 'FERRY_RPC_TIMEOUT', default: 60, parse: int(1, 3600),
    doc: 'Default timeout of an RPC call, in seconds.',
  } as Setting<number>,
  fakeVcpus: {
    env: 'FERRY_FAKE_VCPUS', default: 16, parse: int(1, 4096),
    doc: 'vCPUs a fake compute host reports.',
  } as Setting<number>,
  fakeMemoryMb: {
    env: 'FERRY_FAKE_MEMORY_MB', default: 65536, parse: int(64, 1 << 30),
    doc: 'RAM (MiB) a fake compute host reports.',
  } as Setting<number>,
  fakeDiskGb: {
    env: 'FERRY_FAKE_DISK_GB', default: 1000, parse: int(1, 1 << 30),
    doc: 'Local disk (GiB) a fake compute host reports.',
  } as Setting<number>,
  availabilityZone: {
    env: 'FERRY_AVAILABILITY_ZONE', default: 'nova', parse: hostname,
    doc: 'Availability zone of a compute service\'s host; each compute reports it into its compute_nodes row.',
  } as Setting<string>,
  cpuAllocationRatio: {
    env: 'FERRY_CPU_ALLOCATION_RATIO', default: 4.0, parse: num(0.01, 1000),
    doc: 'vCPUs the scheduler may place per physical CPU; each compute reports its own ratio into its compute_nodes row.',
  } as Setting<number>,
  ramAllocationRatio: {
    env: 'FERRY_RAM_ALLOCATION_RATIO', default: 1.0, parse: num(0.01, 1000),
    doc: 'RAM the scheduler may place per MiB; reported by each compute like the CPU ratio.',
  } as Setting<number>,
  diskAllocationRatio: {
    env: 'FERRY_DISK_ALLOCATION_RATIO', default: 1.0, parse: num(0.01, 1000),
    doc: 'Disk the scheduler may place per GiB; reported by each compute like the CPU ratio.',
  } as Setting<number>,
  schedulerMaxAttempts: {
    env: 'FERRY_SCHEDULER_MAX_ATTEMPTS', default: 3, parse: int(1, 100),
    doc: 'Hosts tried for one build or move before giving up (the first pick plus alternates).',
  } as Setting<number>,
  resizeConfirmWindowSeconds: {
    env: 'FERRY_RESIZE_CONFIRM_WINDOW', default: 0, parse: int(0, 30 * 86400),
    doc: 'Seconds after which a resize or cold migration waiting in VERIFY_RESIZE is confirmed automatically (0: never).',
  } as Setting<number>,
  drainParallelPerHost: {
    env: 'FERRY_DRAIN_PARALLEL_PER_HOST', default: 2, parse: int(1, 128),
    doc: 'Moves a host drain runs off its host at once, unless the drain asks for another `concurrency` (KubeVirt\'s parallelOutboundMigrationsPerNode).',
  } as Setting<number>,
  drainParallelPerCluster: {
    env: 'FERRY_DRAIN_PARALLEL_PER_CLUSTER', default: 5, parse: int(1, 10_000),
    doc: 'Moves under way in the whole cluster (live and cold, whoever started them) above which host drains start no more (KubeVirt\'s parallelMigrationsPerCluster).',
  } as Setting<number>,
  hostLinkBandwidth: {
    env: 'FERRY_HOST_LINK_BANDWIDTH', default: 3_125_000_000, parse: int(1024, Number.MAX_SAFE_INTEGER),
    doc: 'Bytes per second of a host\'s migration link (25 Gbit/s by default): a drain starts a live migration only while the bandwidth caps of those leaving the host fit in it (one always may).',
  } as Setting<number>,
  drainIntervalMs: {
    env: 'FERRY_DRAIN_INTERVAL', default: 500, parse: int(10, 60_000),
    doc: 'Milliseconds between two passes of the elected scheduler over the open host drains (each starts what the limits allow and confirms finished cold moves).',
  } as Setting<number>,
  dashboardIntervalMs: {
    env: 'FERRY_DASHBOARD_INTERVAL', default: 1000, parse: int(50, 60_000),
    doc: 'Milliseconds between two reads of the database for the live dashboard (/dashboard/): one read serves every connected browser, and runs only while one is connected.',
  } as Setting<number>,
  maxConcurrentLiveMigrations: {
    env: 'FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS', default: 1, parse: int(1, 128),
    doc: 'Live migrations a source host runs at once; further ones wait in `queued` (Nova\'s max_concurrent_live_migrations).',
  } as Setting<number>,
  liveMigrationDowntimeMs: {
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME', default: 500, parse: int(100, 600_000),
    doc: 'Maximum downtime (ms) a live migration may finally allow; the allowed downtime ramps up to it in _STEPS steps. A migration policy may override it per server.',
  } as Setting<number>,
  liveMigrationDowntimeSteps: {
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME_STEPS', default: 10, parse: int(3, 1000),
    doc: 'Steps of the downtime ramp.',
  } as Setting<number>,
  liveMigrationDowntimeDelay: {
    env: 'FERRY_LIVE_MIGRATION_DOWNTIME_DELAY', default: 75, parse: int(3, 86400),
    doc: 'Seconds per GiB of guest RAM between two steps of the downtime ramp (counted on the migration job\'s clock).',
  } as Setting<number>,
  liveMigrationCompletionTimeout: {
    env: 'FERRY_LIVE_MIGRATION_COMPLETION_TIMEOUT', default: 800, parse: int(0, 86400),
    doc: 'Seconds per GiB of guest RAM after which a live migration that has not completed takes the timeout action (0: never). A migration policy may override it per server.',
  } as Setting<number>,
  liveMigrationTimeoutAction: {
    env: 'FERRY_LIVE_MIGRATION_TIMEOUT_ACTION', default: 'abort', parse: oneOf('abort', 'force_complete'),
    doc: 'What a live migration past its completion timeout does: `abort` it, or `force_complete` it.',
  } as Setting<'abort' | 'force_complete'>,
  livePermitPostCopy: {
    env: 'FERRY_LIVE_MIGRATION_PERMIT_POST_COPY', default: false, parse: bool,
    doc: 'Force-complete switches to post-copy (the guest runs on the destination while its remaining RAM follows) instead of pausing it. A migration policy may override it per server.',
  } as Setting<boolean>,
  livePermitAutoConverge: {
    env: 'FERRY_LIVE_MIGRATION_PERMIT_AUTO_CONVERGE', default: false, parse: bool,
    doc: 'Let the hypervisor throttle a guest whose RAM changes faster than it can be sent. A migration policy may override it per server.',
  } as Setting<boolean>,
  liveMigrationMonitorMs: {
    env: 'FERRY_LIVE_MIGRATION_MONITOR_INTERVAL', default: 500, parse: int(10, 60_000),
    doc: 'Milliseconds between two looks of a source compute at its running live migrations (progress into the record, downtime ramp, timeout).',
  } as Setting<number>,
  fakeLiveTimeScale: {
    env: 'FERRY_FAKE_LIVE_TIME_SCALE', default: 1, parse: num(0.0001, 1000),
    doc: 'Wall-clock seconds per simulated second of a fake live migration (0.01: a 10 s migration takes 0.1 s).',
  } as Setting<number>,
  fakeMigrationBandwidth: {
    env: 'FERRY_FAKE_MIGRATION_BANDWIDTH', default: 1024 * 1024 * 1024, parse: int(1024, Number.MAX_SAFE_INTEGER),
    doc: 'Bytes per second a fake live migration moves RAM at; a migration policy may ask for less per server, never more.',
  } as Setting<number>,
  fakeGuestWriteRate: {
    env: 'FERRY_FAKE_GUEST_WRITE_RATE', default: 4 * 1024 * 1024, parse: int(0, 1 << 30),
    doc: 'Bytes per second a fake guest writes to its disk while its disk is being copied away (0: the guest stays idle).',
  } as Setting<number>,
  qemuAccel: {
    env: 'FERRY_QEMU_ACCEL', default: 'tcg', parse: oneOf('tcg', 'kvm'),
    doc: 'How the qemu driver runs guests: `tcg` (emulation, works everywhere) or `kvm` (needs a usable /dev/kvm).',
  } as Setting<'tcg' | 'kvm'>,
  qemuGuestCache: {
    env: 'FERRY_QEMU_GUEST_CACHE', default: undefined, parse: optional(text),
    doc: 'Directory where the qemu driver builds and keeps the guest it boots (a Debian kernel and a busybox initramfs, from Debian packages).',
    shownDefault: '<state dir>/cache',
  } as Setting<string | undefined>,
  qemuMigrationAddress: {
    env: 'FERRY_QEMU_MIGRATION_ADDRESS', default: '127.0.0.1', parse: text,
    doc: 'Address a qemu host\'s incoming live migrations (and the disk exports of block migrations) listen on; sources connect to it.',
  } as Setting<string>,
  qemuMigrationPorts: {
    env: 'FERRY_QEMU_MIGRATION_PORTS', default: { min: 49152, max: 49261 }, parse: portRange,
    doc: 'Ports (MIN-MAX) incoming live migrations and their disk exports may listen on (libvirt\'s range by default).',
    shownDefault: '49152-49261',
  } as Setting<{ min: number; max: number }>,
  qemuMigrationBandwidth: {
    env: 'FERRY_QEMU_MIGRATION_BANDWIDTH', default: 1024 * 1024 * 1024, parse: int(1024, Number.MAX_SAFE_INTEGER),
    doc: 'Bytes per second a qemu live migration may use (QEMU\'s max-bandwidth); a migration policy may ask for less per server, never more.',
  } as Setting<number>,
  transfer: {
    env: 'FERRY_TRANSFER', default: 'local', parse: oneOf('local', 'ssh'),
    doc: 'How disks move between hosts: `local` (all hosts on this machine) or `ssh` (SFTP to the destination host\'s sshd).',
  } as Setting<'local' | 'ssh'>,
  sshUser: {
    env: 'FERRY_SSH_USER', default: undefined, parse: optional(text),
    doc: 'User the SSH transfer logs in as on destination hosts (default: the user running the compute).',
  } as Setting<string | undefined>,
  sshKeyFile: {
    env: 'FERRY_SSH_KEY_FILE', default: undefined, parse: optional(text),
    doc: 'Private key file of the SSH transfer (default: ~/.ssh/id_ed25519, then ~/.ssh/id_rsa).',
  } as Setting<string | undefined>,
  sshPort: {
    env: 'FERRY_SSH_PORT', default: 22, parse: int(1, 65535),
    doc: 'Port of the destination hosts\' sshd.',
  } as Setting<number>,
  sshEndpoints: {
    env: 'FERRY_SSH_ENDPOINTS', default: undefined, parse: optional(text),
    doc: 'Per-host sshd addresses as `host=address[:port],…` for hosts whose name does not resolve or whose sshd listens elsewhere.',
  } as Setting<string | undefined>,
  sshTrustOnFirstUse: {
    env: 'FERRY_SSH_TRUST_ON_FIRST_USE', default: false, parse: bool,
    doc: 'Pin a destination\'s host key the first time it is seen. Off: unknown keys are refused with the line to add to `<state dir>/hosts/<host>/known_hosts`.',
  } as Setting<boolean>,
  powerSyncSeconds: {
    env: 'FERRY_POWER_SYNC_INTERVAL', default: 10, parse: int(1, 86400),
    doc: 'Seconds between a compute service\'s sync of real power states (and resource report) into the database.',
  } as Setting<number>,
  strayGraceSeconds: {
    env: 'FERRY_STRAY_GRACE', default: 60, parse: int(1, 86400),
    doc: 'Seconds an instance must have been quiet (no change to it or its moves) before a compute removes what it holds of it that nobody needs: an incoming VM or a copied-in disk of a move that ended, or a claim the database no longer gives the host. VMs of deleted instances are removed at the next sweep (every FERRY_POWER_SYNC_INTERVAL).',
  } as Setting<number>,
  adminPassword: {
    env: 'FERRY_ADMIN_PASSWORD', default: 'ferry-admin', parse: text,
    doc: 'Password of the seeded `admin` user (admin role in project `admin`); applied when the user is first created.',
  } as Setting<string>,
  demoPassword: {
    env: 'FERRY_DEMO_PASSWORD', default: 'ferry-demo', parse: text,
    doc: 'Password of the seeded `demo` user (member role in project `demo`); applied when the user is first created.',
  } as Setting<string>,
  apiListTimeoutMs: {
    env: 'FERRY_API_LIST_TIMEOUT_MS', default: 5000, parse: int(100, 600_000),
    doc: 'Statement timeout of a server listing that filters by a regular expression (name, hostname, ...), in milliseconds: a costly pattern is answered 400 instead of holding a database connection.',
  } as Setting<number>,
  apiListConcurrency: {
    env: 'FERRY_API_LIST_CONCURRENCY', default: 2, parse: int(1, 256),
    doc: 'Server listings (GET /servers, /servers/detail) one API process builds at once; more wait their turn, first come first served. A listing holds up to 1,000 rows, their views and their JSON in memory: admitting a few at a time bounds that memory and answers a burst of listings in the order it came, instead of letting a few wait many times longer than the rest. A turn covers the query too (run unbounded, 64 concurrent listings starve some of them in the database for seconds), so a listing held up by a costly filter keeps its turn for at most FERRY_API_LIST_TIMEOUT_MS. Other requests never wait behind listings.',
  } as Setting<number>,
  reconcileIntervalSeconds: {
    env: 'FERRY_RECONCILE_INTERVAL', default: 60, parse: int(1, 86400),
    doc: 'Seconds between reconciler passes (the scheduler\'s and each compute\'s; one also runs at service start). A pass re-drives from the database every open task or move record left longer than its step\'s deadline below (a lost cast).',
  } as Setting<number>,
  reconcileBuildSeconds: {
    env: 'FERRY_RECONCILE_BUILD_AFTER', default: 300, parse: int(1, 7 * 86400),
    doc: 'A server building in task `scheduling` this many seconds is scheduled again by the elected scheduler (no host yet) or built by the compute the scheduler named (its build message lost).',
  } as Setting<number>,
  reconcileMovePrepSeconds: {
    env: 'FERRY_RECONCILE_MOVE_PREP_AFTER', default: 300, parse: int(1, 7 * 86400),
    doc: 'A resize or cold migration in task `resize_prep` with no migration record this many seconds is handed to migrate_server again by the elected scheduler.',
  } as Setting<number>,
  reconcileLiveAcceptedSeconds: {
    env: 'FERRY_RECONCILE_LIVE_ACCEPTED_AFTER', default: 300, parse: int(1, 7 * 86400),
    doc: 'A live migration left `accepted` this many seconds is handed to live_migrate_server again by the elected scheduler.',
  } as Setting<number>,
  reconcileLiveQueuedSeconds: {
    env: 'FERRY_RECONCILE_LIVE_QUEUED_AFTER', default: 300, parse: int(1, 7 * 86400),
    doc: 'A live migration left `queued` this many seconds with no run on its source is started by the source compute; one aborted (`cancelled`) while its source was down is ended there after the same time.',
  } as Setting<number>,
  reconcileMoveStepSeconds: {
    env: 'FERRY_RECONCILE_MOVE_STEP_AFTER', default: 120, parse: int(1, 7 * 86400),
    doc: 'A resize or cold migration whose record has not changed for this many seconds (a lost cast, or a step that failed on a database or bus error) is resumed by its source or destination compute at the step its status calls for (confirm, revert, copy, finish).',
  } as Setting<number>,
  reconcileTaskSeconds: {
    env: 'FERRY_RECONCILE_TASK_AFTER', default: 300, parse: int(1, 7 * 86400),
    doc: 'A power action (stop, start, reboot, pause, unpause, suspend, resume), rescue or unrescue left in its task this many seconds is run again by the instance\'s compute (each is idempotent).',
  } as Setting<number>,
  deleteRetrySeconds: {
    env: 'FERRY_DELETE_RETRY_AFTER', default: 60, parse: int(1, 86400),
    doc: 'A DELETE of a server already being deleted is a 409 while that delete has made progress within this many seconds; after that it drives the delete again (a lost message must not leave a server stuck).',
  } as Setting<number>,
  lockoutFailureAttempts: {
    env: 'FERRY_LOCKOUT_FAILURE_ATTEMPTS', default: 10, parse: int(0, 1000),
    doc: 'Failed password logins after which a user is locked out for FERRY_LOCKOUT_DURATION (Keystone\'s lockout_failure_attempts); 0: never.',
  } as Setting<number>,
  lockoutDurationSeconds: {
    env: 'FERRY_LOCKOUT_DURATION', default: 300, parse: int(1, 86400),
    doc: 'Seconds a locked-out user stays locked, and the window in which failed logins are counted.',
  } as Setting<number>,
  loginFailuresPerAddress: {
    env: 'FERRY_LOGIN_FAILURES_PER_ADDRESS', default: 30, parse: int(0, 100000),
    doc: 'Failed password logins one client address may make per minute before further logins get 429 (per API process); 0: no limit.',
  } as Setting<number>,
  tokenTtlSeconds: {
    env: 'FERRY_TOKEN_TTL', default: 3600, parse: int(10, 7 * 86400),
    doc: 'Lifetime of an identity token, in seconds.',
  } as Setting<number>,
  region: {
    env: 'FERRY_REGION', default: 'RegionOne', parse: hostname,
    doc: 'Region name published in the service catalog.',
  } as Setting<string>,
  crashPoint: {
    env: 'FERRY_CRASH_POINT', default: '', parse: crashPoints,
    doc: 'Chaos testing only: comma-separated `<point>[@<host>][#<pass>]`; the process SIGKILLs itself at that pass (default the first) of the named crash point (libs/common/src/chaos/crash-points.ts lists them). Read once at start; empty: no point is armed.',
    shownDefault: '(none)',
  } as Setting<string>,
  logLevel: {
    env: 'FERRY_LOG_LEVEL', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    doc: 'Log level (pino). Output is JSON lines, or pretty when stdout is a terminal.',
  } as Setting<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>,
};

export type SettingKey = keyof typeof SETTINGS;
export type FerryConfig = { [K in SettingKey]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };
