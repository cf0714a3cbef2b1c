/**
 * Commits, CI state and merged pull requests on GitHub, with as few requests as the REST API allows:
 * a changelog of 500 commits is five compare pages, and its merged pull requests reuse those pages.
 */
import { clipText, MAX_AUTHOR_LENGTH, MAX_SUBJECT_LENGTH, prNumberOf, type ChangeEntry } from '../../domain/changelog.js';
import { COMMIT_RELATIONS, type CommitRelation } from '../../domain/production-order.js';
import { TrainyardError } from '../../domain/errors.js';
import { isAnswer } from './github-client.js';
import type { GitHubRepo } from './github-repo.js';
import type { CommitState, MergedChange } from './forge.js';

const PAGE = 100;
/** A range's commits are listed at most this far back when looking for merged pull requests. */
const MAX_RANGE_COMMITS = 3_000;
/** Compare pages are reused this long: commitsBetween and mergedChangesBetween of one changelog. */
const COMPARE_TTL_MS = 60_000;
/** Clocks differ: pull requests updated a little before the base commit are still looked at. */
const DATE_SKEW_MS = 60 * 60 * 1000;

interface ApiCommit {
  sha: string;
  commit: { message: string; author: { name?: string; date?: string } | null; committer?: { date?: string } | null };
  author?: { login?: string } | Record<string, never> | null;
}

interface Range {
  /** The newest commits of the range, oldest first. */
  commits: ApiCommit[];
  total: number;
  /** Committer date of the merge base: nothing merged into the range is older (clock skew aside). */
  since: number | undefined;
}

export function toEntry(c: ApiCommit): ChangeEntry {
  const subject = c.commit.message.split('\n', 1)[0] ?? '';
  const login = c.author && 'login' in c.author ? c.author.login : undefined;
  const pr = prNumberOf(subject);
  const entry: ChangeEntry = {
    sha: c.sha,
    subject: clipText(subject, MAX_SUBJECT_LENGTH),
    author: clipText(c.commit.author?.name || login || 'unknown', MAX_AUTHOR_LENGTH),
    date: c.commit.author?.date ?? '',
  };
  return pr === undefined ? entry : { ...entry, pr };
}

function checkRunState(run: { status: string; conclusion: string | null }): CommitState {
  if (run.status !== 'completed') return 'pending';
  return ['success', 'neutral', 'skipped'].includes(run.conclusion ?? '') ? 'success' : 'failure';
}

/** Any failure wins, then anything still running, then success; nothing at all is 'none'. */
export function foldStates(states: CommitState[]): CommitState {
  for (const state of ['failure', 'pending', 'success'] as const) if (states.includes(state)) return state;
  return 'none';
}

export class GitHubHistory {
  private readonly compares = new Map<string, { at: number; range: Range }>();

  constructor(
    private readonly gh: GitHubRepo,
    private readonly defaultBranch: string,
  ) {}

  async resolveRef(ref: string): Promise<string> {
    this.gh.checkRef(ref);
    // One file per page keeps the answer small: only the sha is wanted.
    const commit = await this.gh.call(`resolving ${ref}`, (api) => api.rest.repos.getCommit({ ...this.gh.params, ref, per_page: 1 }), 'ref');
    return commit.data.sha;
  }

  async commitState(sha: string): Promise<CommitState> {
    this.gh.checkRef(sha);
    const params = { ...this.gh.params, ref: sha, per_page: PAGE };
    const [runs, combined] = await Promise.all([
      this.gh.call(`reading check runs of ${sha.slice(0, 12)}`, (api) => api.paginate(api.rest.checks.listForRef, params), 'ref'),
      this.gh.call(`reading statuses of ${sha.slice(0, 12)}`, (api) => api.rest.repos.getCombinedStatusForRef(params), 'ref'),
    ]);
    const states = runs.map(checkRunState);
    // The combined state is 'pending' when there are no statuses at all: only count it when there are.
    if (combined.data.total_count > 0) states.push(combined.data.state === 'success' ? 'success' : combined.data.state === 'pending' ? 'pending' : 'failure');
    return foldStates(states);
  }

  async latestGreenCommit(branch: string, lookback: number): Promise<string | undefined> {
    const { entries } = await this.listCommits(branch, Math.min(1_000, Math.max(0, Math.floor(lookback))));
    for (const { sha } of entries) {
      if ((await this.commitState(sha)) === 'success') return sha;
    }
    return undefined;
  }

  async commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    if (from === undefined) return this.listCommits(to, max);
    const range = await this.compare(from, to, max);
    const newest = max === 0 ? [] : range.commits.slice(-max);
    return { entries: newest.reverse().map(toEntry), truncated: range.total > max };
  }

  /**
   * The compare API's `status` of `base...head` (one commit per page: only the status is wanted).
   * GitHub answers 404 "No common ancestor between …" for unrelated histories: neither contains the
   * other, so that is `diverged`; any other 404 is an unknown ref.
   */
  async compareCommits(base: string, head: string): Promise<CommitRelation> {
    this.gh.checkRef(base);
    this.gh.checkRef(head);
    const status = await this.gh.call(`comparing ${base.slice(0, 40)}...${head.slice(0, 40)}`, async (api) => {
      try {
        return (await api.rest.repos.compareCommitsWithBasehead({ ...this.gh.params, basehead: `${base}...${head}`, per_page: 1, page: 1 })).data.status;
      } catch (err) {
        if (isAnswer(err, 404, /no common ancestor/i)) return 'diverged';
        throw err;
      }
    }, 'ref');
    if (!(COMMIT_RELATIONS as readonly string[]).includes(status)) {
      throw new TrainyardError('FORGE_UNAVAILABLE', `GitHub compared ${base.slice(0, 12)}...${head.slice(0, 12)} with an unknown status "${String(status).slice(0, 40)}"`, 'Retried automatically.');
    }
    return status as CommitRelation;
  }

  async mergedChangesBetween(from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    let shas: Set<string>;
    let since: number | undefined;
    let complete: boolean;
    if (from !== undefined) {
      const range = await this.compare(from, to, MAX_RANGE_COMMITS);
      shas = new Set(range.commits.map((c) => c.sha));
      since = range.since;
      complete = range.commits.length >= range.total;
    } else {
      const listed = await this.listCommits(to, MAX_RANGE_COMMITS);
      shas = new Set(listed.entries.map((e) => e.sha));
      complete = !listed.truncated;
      const oldest = Date.parse(listed.entries.at(-1)?.date ?? '');
      since = Number.isNaN(oldest) ? undefined : oldest;
    }
    const found = await this.mergedInto(shas, since);
    found.sort((a, b) => b.mergedAt.localeCompare(a.mergedAt));
    return { changes: found.slice(0, max), truncated: found.length > max || !complete };
  }

  /** Closed pull requests into the default branch, newest update first, until older than `since`. */
  private async mergedInto(shas: Set<string>, since: number | undefined): Promise<MergedChange[]> {
    const found: MergedChange[] = [];
    const params = { ...this.gh.params, state: 'closed' as const, base: this.defaultBranch, sort: 'updated' as const, direction: 'desc' as const, per_page: PAGE };
    await this.gh.call('listing merged pull requests', async (api) => {
      for await (const page of api.paginate.iterator(api.rest.pulls.list, params)) {
        for (const pr of page.data) {
          if (!pr.merged_at || !pr.merge_commit_sha || !shas.has(pr.merge_commit_sha)) continue;
          found.push({ number: pr.number, title: pr.title, author: pr.user?.login ?? 'ghost', url: pr.html_url, labels: pr.labels.map((l) => l.name), mergedAt: pr.merged_at, mergeCommit: pr.merge_commit_sha });
        }
        const oldest = page.data.at(-1);
        if (since !== undefined && oldest && Date.parse(oldest.updated_at) < since - DATE_SKEW_MS) break;
      }
    });
    return found;
  }

  /** Commits of `ref`, newest first (GitHub's order), at most `max`; one more tells `truncated`. */
  private async listCommits(ref: string, max: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> {
    this.gh.checkRef(ref);
    const entries: ChangeEntry[] = [];
    let more = false;
    const perPage = Math.min(PAGE, max + 1);
    await this.gh.call(`listing commits of ${ref}`, async (api) => {
      for await (const page of api.paginate.iterator(api.rest.repos.listCommits, { ...this.gh.params, sha: ref, per_page: perPage })) {
        for (const c of page.data) {
          if (entries.length === max) {
            more = true;
            return;
          }
          entries.push(toEntry(c));
        }
      }
    }, 'ref');
    return { entries, truncated: more };
  }

  /**
   * `from...to` through the compare API. Pages list the oldest commits first, so the newest `want`
   * are the last pages; the first page (which gives the total) is read anyway. Kept a minute, so the
   * commits and the merged pull requests of one changelog share it.
   */
  private async compare(from: string, to: string, want: number): Promise<Range> {
    this.gh.checkRef(from);
    this.gh.checkRef(to);
    const key = `${from}...${to}`;
    const cached = this.compares.get(key);
    if (cached && Date.now() - cached.at < COMPARE_TTL_MS && cached.range.commits.length >= Math.min(cached.range.total, want)) return cached.range;
    const page = (n: number) =>
      this.gh.call(`comparing ${from}...${to}`, (api) => api.rest.repos.compareCommitsWithBasehead({ ...this.gh.params, basehead: key, per_page: PAGE, page: n }), 'ref');
    const first = (await page(1)).data;
    const total = first.total_commits;
    const start = Math.max(0, total - want);
    const firstPage = Math.floor(start / PAGE) + 1;
    const lastPage = Math.ceil(total / PAGE);
    const pages: ApiCommit[][] = [];
    const rest = [];
    for (let n = Math.max(2, firstPage); n <= lastPage; n++) rest.push(page(n).then((r) => r.data.commits));
    if (firstPage === 1) pages.push(first.commits);
    pages.push(...(await Promise.all(rest)));
    const commits = pages.flat().slice(start - (firstPage - 1) * PAGE);
    const baseDate = first.merge_base_commit.commit.committer?.date;
    const range: Range = { commits, total, since: baseDate ? Date.parse(baseDate) : undefined };
    this.compares.set(key, { at: Date.now(), range });
    if (this.compares.size > 16) this.compares.delete(this.compares.keys().next().value as string);
    return range;
  }
}
