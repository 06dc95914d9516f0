import { openstackCliScenario } from './openstack-cli-scenario';

jest.setTimeout(180_000);
openstackCliScenario('separate processes');
