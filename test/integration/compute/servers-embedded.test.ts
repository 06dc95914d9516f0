// Servers end to end on the embedded database (one connection) and the in-process bus: `ferry up`'s setup.
import { serverLifecycle } from './server-lifecycle';

serverLifecycle('inproc', 'embedded');
