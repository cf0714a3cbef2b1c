/**
 * Everything the fake GitHub remembers besides git objects: pull requests and their issue side
 * (labels, comments), releases, check runs and statuses, workflows, runs and their jobs.
 */
import { GitStore, iso, person, type Files } from './github-git.js';

export interface FakePull {
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  head: string;
  base: string;
  /** Frozen when closed or merged; an open request follows its branch. */
  headSha: string;
  baseSha: string;
  user: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergeCommit: string | null;
}

export interface FakeComment {
  id: number;
  body: string;
  user: string;
  createdAt: string;
}

export interface FakeRelease {
  id: number;
  tag: string;
  name: string | null;
  body: string | null;
  prerelease: boolean;
  draft: boolean;
  createdAt: string;
  /** Published with make_latest=false: never picked as latest by the fallback rule. */
  notLatest: boolean;
  targetCommitish: string;
}

export interface FakeCheckRun {
  id: number;
  sha: string;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | null;
  startedAt: string;
  completedAt: string | null;
}

export interface FakeStatus {
  id: number;
  sha: string;
  context: string;
  state: 'success' | 'failure' | 'pending' | 'error';
  createdAt: string;
}

export interface FakeJob {
  id: number;
  name: string;
  attempt: number;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'cancelled' | null;
  startedAt: string;
  completedAt: string | null;
}

export interface FakeRun {
  id: number;
  workflowId: number;
  name: string;
  path: string;
  headBranch: string;
  headSha: string;
  event: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting';
  conclusion: 'success' | 'failure' | 'cancelled' | null;
  runNumber: number;
  attempt: number;
  createdAt: string;
  updatedAt: string;
  inputs: Record<string, string>;
  jobs: FakeJob[];
  /** Environments waiting for approval (GitHub's manual step). */
  pending: { id: number; name: string }[];
  actor: string;
}

export interface FakeWorkflow {
  id: number;
  name: string;
  path: string;
}

export class FakeState {
  readonly git = new GitStore();
  readonly pulls = new Map<number, FakePull>();
  readonly labels = new Map<number, string[]>();
  readonly comments = new Map<number, FakeComment[]>();
  readonly repoLabels = new Map<string, number>();
  readonly releases: FakeRelease[] = [];
  latestRelease: number | undefined;
  readonly checkRuns: FakeCheckRun[] = [];
  readonly statuses: FakeStatus[] = [];
  readonly workflows = new Map<string, FakeWorkflow>();
  readonly runs = new Map<number, FakeRun>();
  /** github.com names the run a dispatch started when asked; older GitHub Enterprise Servers answer 204. */
  dispatchReturnsRun = true;
  private ids = 1000;
  private issueNumber = 0;
  private runNumber = 0;

  constructor(
    readonly defaultBranch: string,
    readonly owner: string,
  ) {
    this.git.commitOn(defaultBranch, 'Initial commit', { 'README.md': '# fake\n' }, person('octocat'), 'octocat');
  }

  nextId(): number {
    return ++this.ids;
  }

  nextIssueNumber(): number {
    return ++this.issueNumber;
  }

  /** The head of an open request follows its branch; a closed one keeps what it had. */
  headOf(pr: FakePull): string {
    return pr.state === 'open' ? (this.git.refs.get(`refs/heads/${pr.head}`) ?? pr.headSha) : pr.headSha;
  }

  /** What merging would give: the base branch's files with the request's change, or a conflict. */
  mergeResult(pr: FakePull): Files | 'conflict' {
    const base = this.git.refs.get(`refs/heads/${pr.base}`) ?? pr.baseSha;
    const head = this.headOf(pr);
    const mergeBase = this.git.mergeBase(base, head);
    return this.git.merge(mergeBase ? this.git.filesOf(mergeBase) : new Map(), this.git.filesOf(base), this.git.filesOf(head));
  }

  /** Merges as GitHub does: a merge commit (two parents) or a squash commit onto the base branch. */
  merge(pr: FakePull, method: 'merge' | 'squash', by: string): string | 'conflict' {
    const files = this.mergeResult(pr);
    if (files === 'conflict') return files;
    const base = this.git.refs.get(`refs/heads/${pr.base}`) ?? pr.baseSha;
    const head = this.headOf(pr);
    const message = method === 'squash' ? `${pr.title} (#${pr.number})` : `Merge pull request #${pr.number} from ${this.owner}/${pr.head}\n\n${pr.title}`;
    const sha = this.git.commit({ tree: this.git.tree(files), parents: method === 'squash' ? [base] : [base, head], message, author: person(by), committer: person('web-flow'), login: by });
    this.git.refs.set(`refs/heads/${pr.base}`, sha);
    const now = iso();
    Object.assign(pr, { state: 'closed', headSha: head, mergedAt: now, closedAt: now, updatedAt: now, mergeCommit: sha });
    return sha;
  }

  workflow(file: string): FakeWorkflow | undefined {
    if (!/^[\w.-]+\.ya?ml$/.test(file)) return [...this.workflows.values()].find((w) => String(w.id) === file);
    let found = this.workflows.get(file);
    if (!found) this.workflows.set(file, (found = { id: this.nextId(), name: file.replace(/\.ya?ml$/, ''), path: `.github/workflows/${file}` }));
    return found;
  }

  startRun(workflow: FakeWorkflow, ref: string, sha: string, inputs: Record<string, string>, actor: string): FakeRun {
    const now = iso();
    const id = 9_000_000_000 + this.nextId();
    const jobs = ['build', 'test'].map((name) => ({ id: this.nextId(), name, attempt: 1, status: 'queued' as const, conclusion: null, startedAt: now, completedAt: null }));
    const run: FakeRun = { id, workflowId: workflow.id, name: workflow.name, path: workflow.path, headBranch: ref, headSha: sha, event: 'workflow_dispatch', status: 'queued', conclusion: null, runNumber: ++this.runNumber, attempt: 1, createdAt: now, updatedAt: now, inputs, jobs, pending: [], actor };
    this.runs.set(id, run);
    return run;
  }

  /** Ends a run: every job of the current attempt succeeds, or the `test` job fails. */
  finishRun(run: FakeRun, outcome: 'success' | 'failure' | 'cancelled'): void {
    const now = iso();
    for (const job of run.jobs.filter((j) => j.attempt === run.attempt && j.status !== 'completed')) {
      job.status = 'completed';
      job.conclusion = outcome === 'failure' ? (job.name === 'test' ? 'failure' : 'success') : outcome;
      job.completedAt = now;
    }
    run.status = 'completed';
    run.conclusion = outcome;
    run.pending = [];
    run.updatedAt = now;
  }

  /** A new attempt for the failed jobs; the ones that passed are carried over. */
  rerunFailed(run: FakeRun): void {
    run.attempt += 1;
    const now = iso();
    run.jobs = run.jobs.map((j) => (j.conclusion === 'success' ? j : { ...j, id: this.nextId(), attempt: run.attempt, status: 'queued' as const, conclusion: null, startedAt: now, completedAt: null }));
    run.status = 'queued';
    run.conclusion = null;
    run.updatedAt = now;
  }

  /** Labels on an issue or pull request, creating repository labels GitHub-style on first use. */
  addLabels(number: number, names: string[]): string[] {
    const current = this.labels.get(number) ?? [];
    for (const name of names) {
      if (!this.repoLabels.has(name)) this.repoLabels.set(name, this.nextId());
      if (!current.includes(name)) current.push(name);
    }
    this.labels.set(number, current);
    return current;
  }
}
