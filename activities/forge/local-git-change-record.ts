/** The stored form of a local pull request, and the limits its fields are held to. */
import { join } from 'node:path';
import { TrainyardError } from '../../domain/errors.js';
import type { GitRepo } from './local-git-repo.js';
import { readJson, recordNumbers } from './local-git-store.js';

/** GitHub's limits, so a flow that works locally does not fail on GitHub for a long title. */
export const MAX_TITLE = 256;
export const MAX_BODY = 65_536;
export const MAX_LABEL = 50;
export const MAX_LABELS = 100;

export interface ChangeRecord {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'merged' | 'closed';
  sourceBranch: string;
  targetBranch: string;
  /** Head when opened, updated or finished (an open request follows its branch). */
  headSha: string;
  labels: string[];
  /** Author of the head commit when it was opened. */
  author: string;
  createdAt: string;
  updatedAt?: string;
  mergedAt?: string;
  closedAt?: string;
  mergeCommit?: string;
  /** Merge once the head is green (set by mergeWhenGreen while checks are pending). */
  autoMerge?: boolean;
  comments: { body: string; createdAt: string }[];
}

export function isChangeRecord(value: unknown): value is ChangeRecord {
  const v = value as Partial<ChangeRecord> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.number === 'number' && typeof v.title === 'string' && typeof v.body === 'string' &&
    (v.state === 'open' || v.state === 'merged' || v.state === 'closed') && typeof v.sourceBranch === 'string' &&
    typeof v.targetBranch === 'string' && typeof v.headSha === 'string' && Array.isArray(v.labels) && Array.isArray(v.comments)
  );
}

/** Every request, oldest first. */
export async function loadAll(dir: string): Promise<ChangeRecord[]> {
  const records: ChangeRecord[] = [];
  for (const n of await recordNumbers(dir)) {
    const record = await readJson(join(dir, `${n}.json`), isChangeRecord, 'Restore or delete the damaged file.');
    if (record) records.push(record);
  }
  return records;
}

function invalid(message: string, hint: string): TrainyardError {
  return new TrainyardError('FORGE_INVALID', message, hint);
}

export function checkTitle(title: string): void {
  if (!title.trim()) throw invalid('a pull request needs a title', 'Give it a title.');
  if (title.length > MAX_TITLE) throw invalid(`the title is ${title.length} characters long, more than ${MAX_TITLE}`, 'Shorten the title.');
}

export function checkBody(body: string, what: 'body' | 'comment'): void {
  if (body.length > MAX_BODY) throw invalid(`the ${what} is ${body.length} characters long, more than ${MAX_BODY}`, `Shorten the ${what}.`);
}

export function checkLabels(labels: string[]): void {
  if (labels.length > MAX_LABELS) throw invalid(`${labels.length} labels is more than ${MAX_LABELS}`, 'Use fewer labels.');
  for (const label of labels) {
    // eslint-disable-next-line no-control-regex
    if (!label.trim() || label.length > MAX_LABEL || /[\u0000-\u001f\u007f]/.test(label)) {
      throw invalid(`"${label.slice(0, MAX_LABEL)}" is not a usable label`, `Labels are 1 to ${MAX_LABEL} characters, without control characters.`);
    }
  }
}

export async function parentCount(repo: GitRepo, sha: string): Promise<number> {
  const line = (await repo.must(['rev-list', '--parents', '-n', '1', '--end-of-options', sha, '--'])).trim();
  return line.split(' ').length - 1;
}
