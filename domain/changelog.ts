/**
 * Release changelogs: the commits between the last deployed tag and the new one, rendered as
 * Markdown for release notes and notifications.
 *
 * Pure code (no Node built-ins): imported by workflows and activities alike. Everything here is
 * bounded, because a changelog travels through Temporal payloads (2 MiB limit) and into forge release
 * bodies (GitHub rejects bodies over 125,000 characters).
 */

export interface ChangeEntry {
  sha: string;
  subject: string;
  author: string;
  /** Author date, ISO 8601. */
  date: string;
  /** Pull / merge request number, when the subject names one. */
  pr?: number;
}

export interface Changelog {
  /** Where the range starts (excluded); undefined for a service's first release. */
  fromTag?: string;
  toTag: string;
  /** Newest first. */
  entries: ChangeEntry[];
  /** True when the forge stopped listing commits at its limit, so older ones are missing. */
  truncated: boolean;
}

export interface RenderOptions {
  service: string;
  compareUrl?: string;
  /** Bullets shown before "…and N more"; default DEFAULT_MAX_ENTRIES. */
  maxEntries?: number;
}

export const DEFAULT_MAX_ENTRIES = 500;
/** Subjects longer than this are cut: a changelog line is a summary, and size must stay bounded. */
export const MAX_SUBJECT_LENGTH = 200;
export const MAX_AUTHOR_LENGTH = 100;
/**
 * Upper bound on a rendered changelog, in UTF-16 code units. Below GitHub's 125,000-character
 * release body limit, and at most ~360 KB of UTF-8 (≤ 3 bytes per code unit): well below 1 MiB.
 */
export const MAX_RENDERED_LENGTH = 120_000;

const PR_PATTERNS = [
  /^Merge pull request #(\d{1,9}) from /, // GitHub merge commit
  /\(#(\d{1,9})\)\s*$/, // GitHub squash merge: "Fix the thing (#123)"
  /See merge request [\w.\-/]+!(\d{1,9})\b/, // GitLab
];

/** The pull / merge request a commit subject names, if any. */
export function prNumberOf(subject: string): number | undefined {
  for (const pattern of PR_PATTERNS) {
    const match = pattern.exec(subject);
    if (match?.[1]) return Number(match[1]);
  }
  return undefined;
}

/**
 * One line of plain text, at most `max` code points: control characters (a subject may hold any
 * byte but NUL) become spaces so they cannot break the Markdown list, and astral characters are
 * never split in half.
 */
export function clipText(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  const points = Array.from(clean);
  return points.length <= max ? clean : `${points.slice(0, max - 1).join('')}…`;
}

/** "Merge branch 'main' into feature" says nothing about what changed. */
function isMergeNoise(subject: string): boolean {
  return /^Merge (remote-tracking )?branch /.test(subject);
}

function bullet(entry: ChangeEntry): string {
  const pr = entry.pr ?? prNumberOf(entry.subject);
  // The squash suffix moves into the trailer, so the number is not shown twice.
  let subject = clipText(entry.subject, MAX_SUBJECT_LENGTH);
  if (pr !== undefined) subject = subject.replace(new RegExp(`\\s*\\(#${pr}\\)$`), '');
  const showPr = pr !== undefined && !subject.includes(`#${pr}`);
  const trailer = [...(showPr ? [`#${pr}`] : []), entry.sha.slice(0, 7), clipText(entry.author, MAX_AUTHOR_LENGTH)];
  return `- ${subject || '(no subject)'} (${trailer.join(', ')})`;
}

function header(changelog: Changelog, options: RenderOptions): string[] {
  const service = clipText(options.service, MAX_SUBJECT_LENGTH);
  const lines = [`## ${clipText(changelog.toTag, MAX_SUBJECT_LENGTH)}`, ''];
  lines.push(
    changelog.fromTag === undefined
      ? `First release of ${service}.`
      : `Changes since ${clipText(changelog.fromTag, MAX_SUBJECT_LENGTH)} in ${service}.`,
  );
  if (options.compareUrl) lines.push('', `Compare: ${clipText(options.compareUrl, 2 * MAX_SUBJECT_LENGTH)}`);
  lines.push('');
  return lines;
}

function moreLine(hidden: number, truncated: boolean): string | undefined {
  if (hidden > 0) return `- …and ${hidden} more${truncated ? ', and older commits not listed' : ''}`;
  return truncated ? '- …and older commits not listed' : undefined;
}

/** The changelog as Markdown, at most maxEntries bullets and MAX_RENDERED_LENGTH characters. */
export function renderChangelog(changelog: Changelog, options: RenderOptions): string {
  const max = Math.max(0, Math.floor(options.maxEntries ?? DEFAULT_MAX_ENTRIES));
  const lines = header(changelog, options);
  const wanted = changelog.entries.filter((e) => !isMergeNoise(e.subject));
  if (wanted.length === 0 && !changelog.truncated) return [...lines, 'No changes.', ''].join('\n');
  // Room for the "…and N more" line (under 100 characters) is kept back from the budget.
  let length = lines.join('\n').length + 100;
  let shown = 0;
  for (const entry of wanted) {
    if (shown >= max) break;
    const line = bullet(entry);
    if (length + line.length + 1 > MAX_RENDERED_LENGTH) break;
    lines.push(line);
    length += line.length + 1;
    shown += 1;
  }
  const more = moreLine(wanted.length - shown, changelog.truncated);
  if (more) lines.push(more);
  return [...lines, ''].join('\n');
}
