export { collectStatus, formatStatus } from './commands/status';
