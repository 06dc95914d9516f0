// DELETE in every task state on the embedded database (one connection) and the in-process bus: `ferry up`'s setup.
import { deleteDuringTasks } from './delete-during-tasks';

deleteDuringTasks('inproc', 'embedded');
