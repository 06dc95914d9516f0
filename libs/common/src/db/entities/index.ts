// Every TypeORM entity of Ferry's schema; ENTITIES is what a DataSource is built with.
import { Allocation } from './allocation';
import { ComputeNode } from './compute-node';
import { Flavor } from './flavor';
import { HostDrain } from './host-drain';
import { Image } from './image';
import { Instance } from './instance';
import { InstanceAction } from './instance-action';
import { InstanceActionEvent } from './instance-action-event';
import { InstanceFault } from './instance-fault';
import { Migration } from './migration';
import { Project } from './project';
import { RoleAssignment } from './role-assignment';
import { Service } from './service';
import { Token } from './token';
import { User } from './user';

export { Allocation, ComputeNode, Flavor, HostDrain, Image, Instance, InstanceAction, InstanceActionEvent, InstanceFault, Migration, Project, RoleAssignment, Service, Token, User };
export type { InstanceFlavor } from './instance';
export type { PhaseTimings } from './migration';
export { bigintAsNumber } from './column-types';

export const ENTITIES = [
  Instance, InstanceFault, Flavor, Image, ComputeNode, Service, Allocation, Migration,
  InstanceAction, InstanceActionEvent, Project, User, RoleAssignment, Token, HostDrain,
] as const;
