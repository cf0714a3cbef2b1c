/**
 * Hostile input for the property tests, and a tally of how many cases each family ran (printed
 * once per file as `[property] <family>: N cases`, the figure docs/RELIABILITY.md reports).
 */
import fc from 'fast-check';

/** Pieces that break naive validators: git's forbidden sequences, shell syntax, odd Unicode. */
export const NASTY_PIECES = [
  '..', '.', '/', '//', ' ', '\t', '\n', '\r', '\u0000', '\u0007', '\u001b[31m', '\u007f', '-', '--', '@', '@{', '~', '^', ':', '?', '*', '[', '\\',
  '.lock', '$(rm -rf /)', '`id`', '; ls', '&&', '|', '>', '<', "'", '"', '$HOME', '${IFS}', '!', '#', '%s', '%n',
  'é', 'ß', '🚀', '👩‍👩‍👧', '\u202e', '\u200b', '\u00a0', '\ufeff', '\u2028', '\ud800', '\udfff', 'İ', '\u0301',
] as const;

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_PIECES) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}$/) },
);

/** A short hostile string (up to ~100 characters). */
export const nasty = fc.array(piece, { maxLength: 16 }).map((parts) => parts.join(''));

/** Mostly the characters of real tag names, now and then something forbidden. */
export const refLike = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_+=,]{1,6}$/) },
      { weight: 3, arbitrary: fc.constantFrom('/', '.', '-', 'v2024.10.02.1', 'é', '🚀', '@') },
      { weight: 1, arbitrary: fc.constantFrom(...NASTY_PIECES) },
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((parts) => parts.join(''));

/** `unit` repeated to exactly `length` characters (UTF-16 code units): sizes fast-check would take ages to build. */
export function sized(unit: fc.Arbitrary<string>, min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(unit.filter((u) => u.length > 0), fc.integer({ min, max })).map(([u, length]) => u.repeat(Math.ceil(length / u.length)).slice(0, length));
}

/** Anything from empty to multi-megabyte, with the sizes around a limit well represented. */
export function textAround(limit: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: nasty },
    { weight: 2, arbitrary: sized(nasty, Math.max(0, limit - 3), limit + 3) },
    { weight: 1, arbitrary: sized(nasty, limit + 1, 20 * limit) },
    { weight: 1, arbitrary: sized(nasty, 1_000_000, 3_000_000) },
  );
}

const tally = new Map<string, number>();

/**
 * Runs a property `numRuns` times and counts it. A failure is reported with the seed, the path and a
 * clipped counterexample: the values here run to megabytes, and a full report of one (or a diff of
 * it) would stall the test runner rather than help anyone.
 */
export function check<Ts extends [unknown, ...unknown[]]>(family: string, numRuns: number, ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => boolean | void]): void {
  report(family, fc.check(fc.property(...args), { numRuns }));
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(family: string, numRuns: number, ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => Promise<boolean | void>]): Promise<void> {
  report(family, await fc.check(fc.asyncProperty(...args), { numRuns }));
}

const clip = (text: string, max = 1_500) => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

/** Only properties that held are counted, so the figures do not move with where a known gap shows. */
function report<Ts>(family: string, details: fc.RunDetails<Ts>): void {
  if (!details.failed) return count(family, details.numRuns);
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `[property] ${family} failed after ${details.numRuns} cases (seed ${details.seed}, path "${details.counterexamplePath ?? ''}")\n` +
      `counterexample: ${clip(fc.stringify(details.counterexample))}\n${clip(cause)}`,
  );
}

/** Counts hand-picked cases that ran outside fast-check. */
export function count(family: string, cases: number): void {
  tally.set(family, (tally.get(family) ?? 0) + cases);
}

/** One summary line per family; call from afterAll. */
export function printTally(): void {
  for (const [family, cases] of tally) console.log(`[property] ${family}: ${cases} cases`);
}
