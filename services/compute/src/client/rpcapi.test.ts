import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinProblems } from '@ferry/common/rpc';
import { COMPUTE_CONTRACT } from './rpc-contract';
import { COMPUTE_METHOD_VERSIONS, COMPUTE_RPC_VERSION } from './rpcapi';

describe('compute RPC version pins', () => {
  it('pin every method the contract has at the version the history comment last gives it', () => {
    const source = readFileSync(join(__dirname, 'rpcapi.ts'), 'utf8');
    expect(pinProblems(source, COMPUTE_METHOD_VERSIONS, Object.keys(COMPUTE_CONTRACT), COMPUTE_RPC_VERSION)).toEqual([]);
  });

  it('catch a pin the history does not match', () => {
    const source = readFileSync(join(__dirname, 'rpcapi.ts'), 'utf8');
    expect(pinProblems(source, { ...COMPUTE_METHOD_VERSIONS, rescue_instance: '1.4' }, Object.keys(COMPUTE_CONTRACT), COMPUTE_RPC_VERSION))
      .toEqual(['rescue_instance is pinned 1.4, but the history last changes it in 1.3']);
  });
});
