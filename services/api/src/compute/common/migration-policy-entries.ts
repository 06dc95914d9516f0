// Migration policy keys in server metadata and flavor extra specs are checked when they are set: a bad value is a 400
// naming the key, rather than a policy a later live migration has to skip.
import { BadRequest, policyEntryProblems } from '@ferry/common/domain';

export function refuseBadPolicyEntries(field: 'metadata' | 'extra_specs', entries: Readonly<Record<string, string>> | undefined): void {
  const problems = policyEntryProblems(entries ?? {});
  if (problems.length > 0) throw new BadRequest(`Invalid input for field/attribute ${field}: ${problems.join('; ')}`);
}
