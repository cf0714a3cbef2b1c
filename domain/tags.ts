/**
 * Tag naming: how a release tag is formed from the service's format, parsed back, and bumped.
 *
 * A format is a literal string with tokens: `{service}`, `{yyyy}`, `{MM}`, `{dd}` and `{n}` (the
 * sequence number within a release date, starting at 1). Example: `api/v{yyyy}.{MM}.{dd}.{n}` gives
 * `api/v2024.10.02.1`; a re-tag or hotfix of that release is `api/v2024.10.02.2`.
 *
 * Pure code: imported by workflows and activities alike.
 */

export const DEFAULT_TAG_FORMAT = '{service}/v{yyyy}.{MM}.{dd}.{n}';

/** Git allows longer names, but a tag is shown in tables, Slack and the Temporal UI. */
export const MAX_TAG_LENGTH = 200;

export interface TagParts {
  /** Release date, `YYYY-MM-DD`. */
  date: string;
  n: number;
}

const TOKENS = ['service', 'yyyy', 'MM', 'dd', 'n'] as const;
type Token = (typeof TOKENS)[number];

/** Reasons a string is not a usable tag or ref name (git-check-ref-format rules, and a few of ours). */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_TAG_LENGTH) return `is longer than ${MAX_TAG_LENGTH} characters`;
  // git gets the name as UTF-8: a lone surrogate would become U+FFFD, another ref than the one named.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) return 'is not valid Unicode';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  if (/[ ~^:?*[\\]/.test(name)) return 'contains one of the characters space ~ ^ : ? * [ \\';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name === '@') return 'is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'has a path component starting with "."';
    if (part.endsWith('.lock')) return 'has a path component ending with ".lock"';
  }
  return undefined;
}

/** Checks a tag format once, at config load, so a bad format never reaches a train. */
export function tagFormatProblem(format: string): string | undefined {
  const used = [...format.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
  const unknown = used.filter((t) => !(TOKENS as readonly string[]).includes(t));
  if (unknown.length > 0) return `unknown token(s) ${unknown.map((t) => `{${t}}`).join(', ')}; known: ${TOKENS.map((t) => `{${t}}`).join(' ')}`;
  for (const required of ['yyyy', 'MM', 'dd', 'n'] as const) {
    if (!used.includes(required)) return `must contain {${required}} so every release gets a distinct tag`;
  }
  const sample = formatTag(format, 'service', { date: '2024-10-02', n: 1 });
  const problem = refNameProblem(sample);
  return problem ? `gives tags that are not valid git refs (e.g. "${sample}" ${problem})` : undefined;
}

export function formatTag(format: string, service: string, parts: TagParts): string {
  const [yyyy, MM, dd] = parts.date.split('-');
  const values: Record<Token, string> = { service, yyyy: yyyy ?? '', MM: MM ?? '', dd: dd ?? '', n: String(parts.n) };
  return format.replace(/\{(service|yyyy|MM|dd|n)\}/g, (_, token: Token) => values[token]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Parses a tag written in `format`; undefined when the tag does not follow the format. */
export function parseTag(format: string, service: string, tag: string): TagParts | undefined {
  const groups: Record<Token, string> = {
    service: escapeRegExp(service),
    yyyy: '(?<yyyy>\\d{4})',
    MM: '(?<MM>\\d{2})',
    dd: '(?<dd>\\d{2})',
    n: '(?<n>[1-9]\\d{0,5})',
  };
  const pattern = format
    .split(/(\{(?:service|yyyy|MM|dd|n)\})/)
    .map((piece) => {
      const token = /^\{(service|yyyy|MM|dd|n)\}$/.exec(piece)?.[1] as Token | undefined;
      return token ? groups[token] : escapeRegExp(piece);
    })
    .join('');
  const match = new RegExp(`^${pattern}$`).exec(tag);
  const g = match?.groups;
  if (!g || !g.yyyy || !g.MM || !g.dd || !g.n) return undefined;
  return { date: `${g.yyyy}-${g.MM}-${g.dd}`, n: Number(g.n) };
}

/** The next free tag for a release date, given the tags that already exist on the forge. */
export function nextTag(format: string, service: string, date: string, existing: readonly string[]): string {
  let highest = 0;
  for (const tag of existing) {
    const parts = parseTag(format, service, tag);
    if (parts && parts.date === date) highest = Math.max(highest, parts.n);
  }
  return formatTag(format, service, { date, n: highest + 1 });
}

/**
 * The tag after `tag` for the same release date (re-tag or hotfix: `.1` → `.2`), skipping any that
 * already exist, because tags are never moved.
 */
export function bumpTag(format: string, service: string, tag: string, existing: readonly string[] = []): string {
  const parts = parseTag(format, service, tag);
  if (!parts) throw new Error(`tag "${tag}" does not follow the format "${format}" of service "${service}"`);
  return nextTag(format, service, parts.date, [...existing, tag]);
}

/** The newest of `tags` in the service's format (latest release date, then highest number). */
export function newestTag(format: string, service: string, tags: readonly string[]): string | undefined {
  let newest: { tag: string; key: string } | undefined;
  for (const tag of tags) {
    const parts = parseTag(format, service, tag);
    if (!parts) continue;
    const key = `${parts.date}#${String(parts.n).padStart(6, '0')}`;
    if (!newest || key > newest.key) newest = { tag, key };
  }
  return newest?.tag;
}
