// Column helpers shared by the entities: how bigint and numeric values come back from pg as JS numbers.
import type { ValueTransformer } from 'typeorm';

/** pg returns int8 as a string; byte counts fit a JS number exactly (below 2^53). */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value == null ? value : Number(value)),
};
