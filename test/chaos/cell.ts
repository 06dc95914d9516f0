// One cell: an instance, a flow, one crash or fault in it; then only restarts (of what died) and Ferry's own
// recovery until every invariant holds, or the deadline says it never will.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { CrashRole } from '@ferry/common/chaos';
import { sha256 } from '../support/disk-hash';
import { ChaosClient } from './client';
import { ReconnectingDb } from './db';
import { BUSY_GUEST, DISK_BYTES, FLAVOR, RESIZED_FLAVOR, runFlow, snapshot, waitFor, type FlowEnv } from './flows';
import { checkInvariants, instanceDir, orphansOnHosts, type Verdict } from './invariants';
import { FLOW_SPECS, type Cell } from './matrix';
import { runRepairCell } from './repair-cell';

/** A cell that drives a flow (not a repair). */
type FlowCell = Exclude<Cell, { kind: 'repair' }>;
import { ADMIN_PASSWORD, COMPUTES, RPC_TIMEOUT_SECONDS, SERVICES, startChaosServices, type ChaosServices, type ComputeHost, type ServiceName } from './services';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Outcome = 'pass' | 'fail' | 'human';

export interface CellResult {
  cell: Cell;
  outcome: Outcome;
  /** From the crash (or fault) to the moment every invariant held. */
  convergeMs?: number;
  /** Why it failed (the invariants that never held), or what a human must decide. */
  detail: string;
  /** Where the instance and its records ended. */
  where: string;
  /** The requests the flow made, with their answers. */
  steps: string[];
}

export interface HarnessOptions {
  /** Seconds a cell may take to converge after its crash or fault. */
  convergeSeconds: number;
  log?: (line: string) => void;
}

/** The run: services and clients shared by every cell, each cell with its own instance. */
export class ChaosHarness {
  private counter = 0;

  private constructor(
    readonly services: ChaosServices, readonly client: ChaosClient, readonly db: ReconnectingDb,
    readonly imageId: string, readonly opts: HarnessOptions,
  ) {}

  static async start(dir: string, opts: HarnessOptions): Promise<ChaosHarness> {
    const services = await startChaosServices(dir);
    try {
      const client = new ChaosClient(services.apiUrl, ADMIN_PASSWORD);
      for (const f of [FLAVOR, RESIZED_FLAVOR]) {
        const res = await client.act('POST', '/flavors', { flavor: { ...f, id: f.name } });
        if (res.status !== 200) throw new Error(`flavor ${f.name}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return new ChaosHarness(services, client, new ReconnectingDb(services.databaseUrl), await client.imageId('cirros'), opts);
    } catch (err) {
      await services.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.db.close();
    await this.services.stop();
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private serviceOf(role: CrashRole | 'compute', source: ComputeHost, dest: ComputeHost): ServiceName {
    if (role === 'api' || role === 'scheduler') return role;
    return role === 'source' ? source : dest;
  }

  /** Creates a server on `host` (admin: `nova:<host>`); its id, found by its unique name even if the API died answering. */
  async create(name: string, host: string, metadata: Record<string, string> = {}): Promise<{ status: number; body: unknown; uuid?: string }> {
    const res = await this.client.act('POST', '/servers', {
      server: { name, flavorRef: FLAVOR.name, imageRef: this.imageId, availability_zone: `nova:${host}`, metadata, networks: 'none' },
    });
    const uuid = await this.uuidByName(name);
    return { status: res.status, body: res.body, ...(uuid ? { uuid } : {}) };
  }

  async uuidByName(name: string): Promise<string | undefined> {
    return this.db.use(async (c) => (await c.query<{ uuid: string }>('SELECT uuid FROM instances WHERE display_name = $1', [name])).rows[0]?.uuid);
  }

  /** Writes known bytes where the disk has none, and returns its hash: what every later copy must equal. */
  async seedDisk(host: string, uuid: string): Promise<string> {
    const path = join(instanceDir(this.services.stateDir, host, uuid), 'disk');
    const handle = await open(path, 'r+');
    try {
      // Known bytes at a few places, the last ending the disk at DISK_BYTES.
      const block = 64 * 1024;
      for (const at of [0, DISK_BYTES / 4, DISK_BYTES / 2, DISK_BYTES - block]) {
        await handle.write(Buffer.alloc(block, `${uuid} ${at} `), 0, block, at);
      }
    } finally {
      await handle.close();
    }
    return sha256(path, DISK_BYTES);
  }

  async run(cell: Cell): Promise<CellResult> {
    if (cell.kind === 'repair') return runRepairCell(this, cell, this.counter++);
    return this.runFlowCell(cell);
  }

  private async runFlowCell(cell: FlowCell): Promise<CellResult> {
    const n = this.counter++;
    const source: ComputeHost = COMPUTES[n % 2]!;
    const dest: ComputeHost = COMPUTES[(n + 1) % 2]!;
    const name = `chaos-${n}-${cell.flow}`;
    const steps: string[] = [];
    /** What the flow itself saw go wrong (checked beside the invariants). */
    const flowViolations: string[] = [];
    const converge = this.opts.convergeSeconds * 1000;
    let uuid: string | undefined;
    let diskSha: string | undefined;
    const result = (outcome: Outcome, detail: string, where: string, convergeMs?: number): CellResult =>
      ({ cell, outcome, detail, where, steps, ...(convergeMs === undefined ? {} : { convergeMs }) });

    // Setup, unarmed: the instance the flow moves (a build creates its own, as its first step).
    if (cell.flow !== 'build') {
      const made = await this.create(name, source, cell.flow === 'abort' || cell.flow === 'force-complete' ? BUSY_GUEST : {});
      uuid = made.uuid;
      if (!uuid) return result('fail', `setup: create answered ${made.status} ${JSON.stringify(made.body)} and no instance exists`, '-');
      const env = { db: this.db, uuid, deadline: Date.now() + 60_000 } as FlowEnv;
      const s = await waitFor(env, (x) => x.inst?.vm_state === 'active' && x.inst.task_state === null);
      if (s.inst?.vm_state !== 'active') return result('fail', `setup: instance never became active (${s.inst?.vm_state}/${s.inst?.task_state})`, '-');
      diskSha = await this.seedDisk(source, uuid);
    }

    // Arm: the crashing process restarts with the point armed.
    const armed = cell.kind === 'crash' ? this.serviceOf(cell.role, source, dest) : undefined;
    if (cell.kind === 'crash') await this.services.start(armed!, { FERRY_CRASH_POINT: cell.point });

    let faultAt: number | undefined;
    let faultNote = '';
    /** Computes a flow keeps down (a dead host): the supervisor leaves them. */
    const held = new Set<ServiceName>();
    let flowDone = false;
    let cellDone = false;
    // The flow's waits end at the deadline, or sooner once the fault is known: converge time counts from it.
    const limits = { deadline: Date.now() + converge + 30_000 };
    const struck = () => {
      faultAt = Date.now();
      limits.deadline = Math.min(limits.deadline, faultAt + converge);
    };
    /**
     * When the armed process crashed: the supervisor notes it on its next look, but a recovery as quick as the abort's
     * (the record already carries it) may settle the flow before then, so whoever asks looks at the process itself.
     */
    const crashedAt = (): number | undefined => {
      if (faultAt === undefined && armed && !held.has(armed) && this.services.exited(armed)) struck();
      return faultAt;
    };
    // A supervisor's only move: restart whatever died (the armed process after its crash, or any service a fault
    // killed), unarmed.
    const supervisor = (async () => {
      while (!cellDone) {
        for (const svc of SERVICES) {
          if (held.has(svc) || !this.services.exited(svc)) continue;
          if (svc === armed && faultAt === undefined) struck();
          this.log(`  ${svc} exited${svc === armed ? ` at ${(cell as { point: string }).point}` : ''}; restarting it`);
          steps.push(`${svc} exited; restarted`);
          await this.services.start(svc);
        }
        await sleep(50);
      }
    })();
    const injector = (async () => {
      if (cell.kind === 'crash') return;
      const long = FLOW_SPECS[cell.flow].longStep;
      // Strike at the long step; if the flow is past it already, strike now (the note says so).
      for (;;) {
        const s = uuid ? await snapshot({ db: this.db, uuid }).catch(() => undefined) : undefined;
        const atStep = s && ((long.migration && s.migrations.some((m) => long.migration!.includes(m.status))) || (long.task && s.inst && long.task.includes(s.inst.task_state ?? '')));
        if (atStep || flowDone || Date.now() > limits.deadline) {
          faultNote = atStep ? `at ${s.migrations.at(-1)?.status ?? s.inst?.task_state}` : 'after the flow passed its long step';
          break;
        }
        await sleep(30);
      }
      struck();
      steps.push(`${cell.fault} ${faultNote}`);
      await this.inject(cell.fault, this.serviceOf(long.stall, source, dest));
    })();

    const env: FlowEnv = {
      client: this.client, db: this.db, uuid: uuid ?? '', source, dest,
      get deadline() {
        return limits.deadline;
      },
      beforeDecision: async () => {
        // The source copy is powered off and waits for the decision: its disk is the one every copy must equal.
        const path = join(instanceDir(this.services.stateDir, source, env.uuid), 'disk');
        diskSha = await sha256(path, DISK_BYTES).catch(() => undefined);
        if (!diskSha) flowViolations.push(`no source disk on ${source} in VERIFY_RESIZE`);
      },
      holdDown: async (host) => {
        held.add(host as ServiceName);
        await this.services.kill(host as ServiceName);
        steps.push(`${host} killed and held down`);
      },
      bringBack: async (host) => {
        const svc = host as ServiceName;
        const arm = svc === armed && faultAt === undefined && cell.kind === 'crash';
        try {
          await this.services.start(svc, arm ? { FERRY_CRASH_POINT: cell.point } : {});
        } catch (err) {
          if (!arm) throw err;
          // It died at its crash point while starting (a fence runs before the service serves): restarted unarmed.
          struck();
          steps.push(`${host} exited at ${cell.point} while starting; restarted`);
          await this.services.start(svc);
        }
        held.delete(svc);
        steps.push(`${host} brought back`);
      },
      note: (line) => steps.push(line),
    };
    if (cell.flow === 'build') {
      const made = await this.create(name, dest);
      steps.push(`create: ${made.status}`);
      uuid = made.uuid ?? (await this.waitForRow(name, converge));
      env.uuid = uuid ?? '';
    }
    // A cold move's guest writes during pass 1: from then on the disk to equal is the source's once powered off, taken
    // before the user decides. A move that rolls back leaves only the source's own disk, with nothing to compare.
    if (cell.flow === 'cold-confirm' || cell.flow === 'resize-revert') diskSha = undefined;
    // An evacuation off a host's own disk rebuilds the guest from its image: there is no disk to compare.
    if (cell.flow === 'evacuate' || cell.flow === 'evacuate-alive') diskSha = undefined;
    if (uuid) await runFlow(cell.flow, env).catch((err: Error) => steps.push(`flow error: ${err.message}`));
    flowDone = true;
    await injector;
    try {
      const r = await this.converge(cell, uuid, diskSha, armed, crashedAt, faultNote, result);
      return flowViolations.length ? { ...r, outcome: 'fail', detail: [...flowViolations, r.detail].filter(Boolean).join('; ') } : r;
    } finally {
      cellDone = true;
      await supervisor;
      // Whatever the flow left: no host stays held or forced down for the next cell.
      for (const svc of held) await this.services.start(svc);
      held.clear();
      if (cell.flow === 'evacuate' || cell.flow === 'evacuate-alive') await this.db.use((c) => c.query('UPDATE services SET forced_down = false'));
      // A point never reached leaves its process armed: the next cell gets it unarmed.
      if (armed && faultAt === undefined) await this.services.start(armed);
    }
  }

  private async converge(
    cell: FlowCell, uuid: string | undefined, diskSha: string | undefined, armed: ServiceName | undefined, faultAt: () => number | undefined,
    faultNote: string, result: (outcome: Outcome, detail: string, where: string, convergeMs?: number) => CellResult,
  ): Promise<CellResult> {
    const converge = this.opts.convergeSeconds * 1000;
    if (cell.kind === 'crash') {
      // The crash may come late (a recovery path passing the point): give it the deadline, then call it unreached.
      const until = Date.now() + converge;
      while (faultAt() === undefined && Date.now() < until && uuid) {
        if ((await this.verdict(uuid, undefined)).ok) break;
        await sleep(200);
      }
      if (faultAt() === undefined) {
        const verdict = uuid ? await this.verdict(uuid, diskSha) : undefined;
        return this.finish(result('fail', `crash point ${cell.point} was not reached in ${armed}`, verdict?.where ?? 'no instance'), uuid);
      }
    }
    if (!uuid) return result('fail', 'no instance row was ever written', 'no instance');

    // Converge: nothing but restarts (the supervisor's) and Ferry's own recovery.
    const from = faultAt() ?? Date.now();
    let last: Verdict;
    for (;;) {
      last = await this.verdict(uuid, diskSha);
      if (last.ok) return this.finish(result('pass', faultNote, last.where, Date.now() - from), uuid);
      if (last.humanNeeded) return this.finish(result('human', last.violations.join('; '), last.where, Date.now() - from), uuid);
      if (Date.now() - from > converge) return this.finish(result('fail', last.violations.join('; '), last.where), uuid);
      await sleep(300);
    }
  }

  /**
   * VM directories on any host that no live instance owns, once the cells' deletes have had `graceSeconds` to finish:
   * orphans left by any cell of the run.
   */
  async orphans(graceSeconds = 20): Promise<string[]> {
    const deadline = Date.now() + graceSeconds * 1000;
    for (;;) {
      const found = await this.db.use((c) => orphansOnHosts(c, this.services.stateDir));
      if (found.length === 0 || Date.now() > deadline) return found;
      await sleep(500);
    }
  }

  private async waitForRow(name: string, timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const uuid = await this.uuidByName(name);
      if (uuid || Date.now() > deadline) return uuid;
      await sleep(300);
    }
  }

  verdict(uuid: string, diskSha: string | undefined): Promise<Verdict> {
    return this.db.use((c) => checkInvariants(c, this.services.stateDir, uuid, diskSha, DISK_BYTES));
  }

  /** Deletes the cell's instance (not waited for: the next cell has its own). */
  async finish(r: CellResult, uuid: string | undefined): Promise<CellResult> {
    if (uuid) await this.client.act('DELETE', `/servers/${uuid}`);
    return r;
  }

  private async inject(fault: Extract<Cell, { kind: 'fault' }>['fault'], stalled: ServiceName): Promise<void> {
    const s = this.services;
    switch (fault) {
      case 'stall':
        this.log(`  stalling ${stalled} for ${RPC_TIMEOUT_SECONDS + 3} s`);
        s.signal(stalled, 'SIGSTOP');
        await sleep((RPC_TIMEOUT_SECONDS + 3) * 1000);
        s.signal(stalled, 'SIGCONT');
        return;
      case 'broker-cut':
        this.log('  closing every broker connection');
        await s.rabbit.closeAllConnections();
        return;
      case 'broker-restart':
        this.log('  restarting the broker node');
        await s.rabbit.restart();
        return;
      case 'postgres-restart':
        this.log('  restarting Postgres');
        await s.postgres.restart();
        return;
    }
  }
}
