// An RPC API's version history, as its client file's header comment tells it ("//   1.2  method_a, method_b (casts)"):
// which version each method arrived at, for the check that the pins and the history agree.

/** The version at which each method named in the history comment of `source` appears (snake_case names only). */
export function versionsInHistory(source: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let version: string | undefined;
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    const entry = /^\/\/\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (entry) version = entry[1];
    else if (!/^\/\/\s{4,}\S/.test(line)) version = undefined;
    if (!version) continue;
    const text = entry ? entry[2]! : line.replace(/^\/\/\s+/, '');
    for (const name of text.match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? []) found.set(name, [...(found.get(name) ?? []), version]);
  }
  return found;
}

/**
 * Where an API's pins, its contract and its history comment disagree: a contract method without a pin (or a pin for a
 * method the contract lacks), a pin that is not the last version the history gives the method, a method the history
 * names that has no pin, or a newest pin that is not the version servers implement. Empty when they all agree.
 */
export function pinProblems(source: string, pins: Readonly<Record<string, string>>, contractMethods: readonly string[], implemented: string): string[] {
  const problems: string[] = [];
  const history = versionsInHistory(source);
  for (const m of contractMethods) if (!(m in pins)) problems.push(`${m} has no version pin`);
  for (const [m, pin] of Object.entries(pins)) {
    if (!contractMethods.includes(m)) problems.push(`${m} is pinned but not in the contract`);
    const seen = history.get(m);
    if (!seen) problems.push(`${m} (pinned ${pin}) is not in the version history`);
    else if (seen.at(-1) !== pin) problems.push(`${m} is pinned ${pin}, but the history last changes it in ${seen.at(-1)}`);
  }
  for (const m of history.keys()) if (!(m in pins)) problems.push(`the history names ${m}, which has no pin`);
  const newest = Object.values(pins).sort((a, b) => minorOf(b) - minorOf(a))[0];
  if (newest !== implemented) problems.push(`the newest pin is ${newest}, but servers implement ${implemented}`);
  return problems;
}

function minorOf(version: string): number {
  return Number(version.split('.')[1]);
}
