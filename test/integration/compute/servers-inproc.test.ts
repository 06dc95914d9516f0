// Servers end to end over the in-process bus (what `ferry up` runs on).
import { serverLifecycle } from './server-lifecycle';

serverLifecycle('inproc');
