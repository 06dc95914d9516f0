// Live migration on the embedded database and the in-process bus: `ferry up`'s setup.
import { liveMigrationSuite } from './live-migration';

liveMigrationSuite('inproc', 'embedded');
