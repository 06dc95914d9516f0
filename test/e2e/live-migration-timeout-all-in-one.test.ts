import { liveMigrationTimeoutScenario } from './live-migration-timeout-scenario';

jest.setTimeout(180_000);
liveMigrationTimeoutScenario('all-in-one');
