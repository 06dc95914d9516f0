// `ferry migration list|show|watch`: moves as the API records them (GET /os-ferry-migrations), as an admin (see
// api/admin-session.ts). watch follows one move, or every move in flight, until it ends: progress bars on a terminal
// (cli-progress), one line per change otherwise.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { FerryConfig } from '@ferry/common/config';
import { adminSession, failure, type AdminSession } from '../api/admin-session';
import { formatList, formatShow, watchFigures, watchLine, type LastMovement, type MigrationRecord } from './migration-view';
import { UsageError } from './service';

export interface ListOptions {
  status?: string;
  type?: string;
  host?: string;
  instance?: string;
  inProgress?: boolean;
  limit?: number;
  json?: boolean;
}

/** Statuses a move ends well in: watch exits 0 for these, 1 for the others. */
const ENDED_WELL = new Set(['completed', 'confirmed', 'reverted', 'finished', 'done']);

async function listMoves(api: AdminSession, o: ListOptions): Promise<MigrationRecord[]> {
  const params = new URLSearchParams();
  if (o.status) params.set('status', o.status);
  if (o.type) params.set('migration_type', o.type);
  if (o.host) params.set('host', o.host);
  if (o.instance) params.set('instance_uuid', o.instance);
  if (o.inProgress) params.set('in_progress', 'true');
  if (o.limit) params.set('limit', String(o.limit));
  const res = await api.compute('GET', `/os-ferry-migrations${params.size ? `?${params}` : ''}`);
  if (res.status !== 200) throw await failure('GET /os-ferry-migrations', res);
  return ((await res.json()) as { migrations: MigrationRecord[] }).migrations;
}

async function showMove(api: AdminSession, id: string): Promise<MigrationRecord> {
  const res = await api.compute('GET', `/os-ferry-migrations/${encodeURIComponent(id)}`);
  if (res.status === 404) throw new UsageError(`no migration ${id}`);
  if (res.status !== 200) throw await failure(`GET /os-ferry-migrations/${id}`, res);
  return ((await res.json()) as { migration: MigrationRecord }).migration;
}

export async function migrationList(config: Readonly<FerryConfig>, o: ListOptions): Promise<void> {
  const moves = await listMoves(await adminSession(config), o);
  process.stdout.write(o.json ? `${JSON.stringify(moves, null, 2)}\n` : formatList(moves));
}

export async function migrationShow(config: Readonly<FerryConfig>, id: string, o: { json?: boolean }): Promise<void> {
  const move = await showMove(await adminSession(config), id);
  process.stdout.write(o.json ? `${JSON.stringify(move, null, 2)}\n` : formatShow(move));
}

/** How a watch shows its moves: bars on a terminal, lines otherwise. */
interface WatchDisplay {
  update(m: MigrationRecord, line: string, processed: number, total: number): void;
  ended(m: MigrationRecord): void;
  stop(): void;
}

function barDisplay(): WatchDisplay {
  const multi = new MultiBar({ format: '{bar} {percentage}% {line}', hideCursor: true, clearOnComplete: false, stopOnComplete: false }, Presets.shades_classic);
  const bars = new Map<number, SingleBar>();
  return {
    update(m, line, processed, total) {
      const bar = bars.get(m.id) ?? multi.create(Math.max(total, 1), 0, { line });
      bars.set(m.id, bar);
      bar.setTotal(Math.max(total, 1));
      bar.update(processed, { line });
    },
    ended(m) {
      bars.get(m.id)?.update({ line: `${m.id} ${m.migration_type} ${m.instance_uuid.slice(0, 8)} ended ${m.status}${m.last_error ? `: ${m.last_error}` : ''}` });
    },
    stop: () => multi.stop(),
  };
}

function lineDisplay(out: NodeJS.WritableStream): WatchDisplay {
  const last = new Map<number, string>();
  return {
    update(m, line) {
      if (last.get(m.id) === line) return;
      last.set(m.id, line);
      out.write(`${new Date().toISOString()} ${line}\n`);
    },
    ended(m) {
      out.write(`${new Date().toISOString()} ${m.id} ${m.migration_type} ${m.instance_uuid} ended ${m.status}${m.last_error ? `: ${m.last_error}` : ''}\n`);
    },
    stop: () => undefined,
  };
}

/**
 * Follows one move (id) until it is no longer in flight, or every move in flight until none is left. Exit status: 0
 * when what it watched ended well (or nothing was in flight), 1 when a move it watched failed, erred or was cancelled.
 */
export async function migrationWatch(config: Readonly<FerryConfig>, id: string | undefined, o: { intervalMs: number }): Promise<number> {
  const api = await adminSession(config);
  const display = process.stdout.isTTY ? barDisplay() : lineDisplay(process.stdout);
  const seen = new Map<number, { movement: LastMovement; move: MigrationRecord }>();
  let failed = false;
  let watched = 0;
  try {
    for (;;) {
      const at = Date.now();
      const moves = id ? [await showMove(api, id)] : await listMoves(api, { inProgress: true });
      const current = new Set<number>();
      for (const m of moves) {
        current.add(m.id);
        if (!seen.has(m.id)) watched++;
        const before = seen.get(m.id);
        if (!m.in_progress) {
          display.ended(m);
          failed ||= !ENDED_WELL.has(m.status);
          seen.delete(m.id);
          continue;
        }
        const { figures, movement } = watchFigures(m, before?.movement, at);
        display.update(m, watchLine(m, figures), figures.processed, figures.total);
        seen.set(m.id, { movement, move: m });
      }
      // A move that left the in-flight list between two looks: read how it ended.
      for (const [gone, { move }] of [...seen]) {
        if (current.has(gone)) continue;
        const final = await showMove(api, String(move.id));
        display.ended(final);
        failed ||= !ENDED_WELL.has(final.status);
        seen.delete(gone);
      }
      if (id ? !moves[0]!.in_progress : seen.size === 0) break;
      await new Promise((r) => setTimeout(r, o.intervalMs));
    }
  } finally {
    display.stop();
  }
  if (watched === 0) process.stdout.write('no migration in flight\n');
  return failed ? 1 : 0;
}
