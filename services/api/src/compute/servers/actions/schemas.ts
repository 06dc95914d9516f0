// Body schemas more than one server action uses.
import { Type } from '@sinclair/typebox';

/** {"<name>": anything}: Nova accepts any value for these actions (null by convention). */
export const bareAction = (name: string) => Type.Object({ [name]: Type.Unknown() }, { additionalProperties: false });
