// Cold migration and resize on the embedded database (one connection) and the in-process bus: `ferry up`'s setup.
import { coldMigration } from './cold-migration';

coldMigration('inproc', 'embedded');
