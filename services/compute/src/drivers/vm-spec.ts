// What a driver is given to create an instance's VM: the one type both the driver interface and its live-migration
// phases take, kept apart so neither imports the other.
import type { InstanceFlavor } from '@ferry/common/db';

/** What the driver needs to create an instance's VM. */
export interface VmSpec {
  uuid: string;
  /** The hypervisor's name for the guest (Nova's instance.name, e.g. instance-1a2b3c4d). */
  name: string;
  flavor: InstanceFlavor;
  image_ref: string;
  /** Set while the instance is rescued: the image its rescue environment boots. */
  rescue_image_ref?: string | null;
}
