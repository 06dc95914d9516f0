// The reconciler on the embedded database (one PGlite session) and the in-process bus: `ferry up`'s setup.
import { reconcilerElectionSuite, reconcilerSuite } from './reconciler';

reconcilerSuite('inproc', 'embedded');
reconcilerElectionSuite('inproc', 'embedded');
