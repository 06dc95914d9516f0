// A V8 CPU profile of this process over one phase of a benchmark (the run, not the setup around it).
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Profiles this process's CPU between start() and stop(); does nothing when dir is undefined. */
export class RunProfile {
  private session: Session | undefined;

  constructor(private readonly dir: string | undefined) {}

  async start(): Promise<void> {
    if (!this.dir) return;
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.start');
  }

  /** Writes the profile as <dir>/<name>.cpuprofile (read it with support/profile-top.js); returns its path. */
  async stop(name: string): Promise<string | undefined> {
    if (!this.session || !this.dir) return undefined;
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    this.session = undefined;
    const path = join(this.dir, `${name}.cpuprofile`);
    await writeFile(path, JSON.stringify(profile));
    return path;
  }
}
