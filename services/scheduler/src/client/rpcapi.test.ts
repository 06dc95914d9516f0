import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinProblems } from '@ferry/common/rpc';
import { SCHEDULER_CONTRACT } from './rpc-contract';
import { SCHEDULER_METHOD_VERSIONS, SCHEDULER_RPC_VERSION } from './rpcapi';

describe('scheduler RPC version pins', () => {
  it('pin every method the contract has at the version the history comment last gives it', () => {
    const source = readFileSync(join(__dirname, 'rpcapi.ts'), 'utf8');
    expect(pinProblems(source, SCHEDULER_METHOD_VERSIONS, Object.keys(SCHEDULER_CONTRACT), SCHEDULER_RPC_VERSION)).toEqual([]);
  });
});
