// A separate process owning an embedded database (as `ferry up` does): opens it, writes a row, reports, and waits.
import { randomUUID } from 'node:crypto';
import { migrate, openDatabase } from '../../../../libs/common/src/db';

async function main(): Promise<void> {
  const stateDir = process.argv[2];
  const db = await openDatabase({ stateDir });
  await migrate(db.dataSource);
  const uuid = randomUUID();
  await db.dataSource.query(
    `INSERT INTO instances (uuid, display_name, project_id, user_id, flavor, image_ref, vm_state) VALUES ($1, 'from-child', 'p', 'u', '{}', 'cirros', 'active')`,
    [uuid],
  );
  process.stdout.write(`ready ${uuid}\n`);
  // Runs until killed, or closes cleanly when its parent closes stdin.
  process.stdin.resume();
  process.stdin.on('end', () => void db.close().then(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
