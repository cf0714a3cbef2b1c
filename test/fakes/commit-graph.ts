/** What the fake forges' repositories share: walking a commit graph and abbreviated shas. */

/** The full sha that `ref` abbreviates (7 to 39 hex digits), when exactly one commit matches. */
export function uniqueByPrefix(ref: string, shas: Iterable<string>): string | undefined {
  if (!/^[0-9a-f]{7,39}$/.test(ref)) return undefined;
  const matches = [...shas].filter((sha) => sha.startsWith(ref));
  return matches.length === 1 ? matches[0] : undefined;
}

/** `sha` and every commit it descends from. */
export function ancestorsOf(sha: string, parentsOf: (sha: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [sha];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...parentsOf(next));
  }
  return seen;
}
