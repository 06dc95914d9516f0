// Each service process loads its own code and the client stubs of its peers, nothing more: the API and the scheduler
// load no driver, flow or transfer code (nor ssh2), a compute or scheduler no HTTP server, and a command that runs no
// service loads none of them. Checked on the built packages, as `ferry` runs them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FERRY_MAIN } from '../../support/ferry-process';

const REPO = join(__dirname, '../../..');
const COMPUTE_DIST = join(REPO, 'services/compute/dist');
const SCHEDULER_DIST = join(REPO, 'services/scheduler/dist');
const API_DIST = join(REPO, 'services/api/dist');

/** Every module file a fresh node process holds once it has required entry. */
function loadedByRequiring(entry: string): string[] {
  const code = `require(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(require.cache)))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' }).trim().split('\n').pop()!) as string[];
}

const under = (dir: string) => (modules: string[]) => modules.filter((m) => m.startsWith(`${dir}/`)).map((m) => m.slice(dir.length + 1));
const computeParts = (modules: string[]) => [...new Set(under(COMPUTE_DIST)(modules).map((m) => m.split('/')[0]))].sort();
const ssh2 = (modules: string[]) => modules.filter((m) => m.includes('/node_modules/ssh2/'));
const fastify = (modules: string[]) => modules.filter((m) => m.includes('/node_modules/fastify/'));

describe('what each service process loads', () => {
  it('the API loads compute client stubs, audit and cleanup only: no driver, flow, transfer or ssh2', () => {
    const modules = loadedByRequiring(join(API_DIST, 'index.js'));
    expect(computeParts(modules)).toEqual(['audit', 'cleanup', 'client']);
    expect(under(SCHEDULER_DIST)(modules).every((m) => m.startsWith('client/'))).toBe(true);
    expect(ssh2(modules)).toEqual([]);
  });

  it('the scheduler loads the compute client stubs only, and no HTTP server', () => {
    const modules = loadedByRequiring(join(SCHEDULER_DIST, 'index.js'));
    expect(computeParts(modules)).toEqual(['client']);
    expect(ssh2(modules)).toEqual([]);
    expect(fastify(modules)).toEqual([]);
    expect(under(API_DIST)(modules)).toEqual([]);
  });

  it('the compute loads its drivers and no HTTP server or scheduler code', () => {
    const modules = loadedByRequiring(join(COMPUTE_DIST, 'index.js'));
    expect(computeParts(modules)).toEqual(expect.arrayContaining(['client', 'drivers', 'transfer']));
    expect(fastify(modules)).toEqual([]);
    expect(under(SCHEDULER_DIST)(modules)).toEqual([]);
  });

  it('a `ferry` command that runs no service loads no service code', () => {
    // Printed when the command has run: what the process loaded by then.
    const hook = join(mkdtempSync(join(tmpdir(), 'ferry-footprint-')), 'print-modules.js');
    writeFileSync(hook, "process.on('exit', () => process.stdout.write('\\n' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n");
    const out = execFileSync(process.execPath, ['-r', hook, FERRY_MAIN, 'config'], { encoding: 'utf8' });
    const modules = JSON.parse(out.trim().split('\n').pop()!) as string[];
    expect(out).toContain('FERRY_DATABASE_URL');
    expect(under(API_DIST)(modules)).toEqual([]);
    expect(under(COMPUTE_DIST)(modules)).toEqual([]);
    expect(under(SCHEDULER_DIST)(modules)).toEqual([]);
  });
});
