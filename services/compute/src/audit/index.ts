// @ferry/compute/audit: `ferry audit` as the API runs it, reading the database and asking every compute host over the
// bus what it holds. Read only; loads no driver code.
export { runAudit } from './run-audit';
export * from './audit-findings';
