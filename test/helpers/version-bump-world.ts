/**
 * An in-memory component and consumer for the version bump's workflow tests: the real bump
 * activities run against these forges. CI is scripted: each pipeline (and each retry) takes the next
 * outcome of `pipelineOutcomes` and reports `running` on its first look.
 */
import type { ChangeRequest, ChangeRequestInput, CommitState, PipelineRun } from '../../activities/forge/forge.js';
import type { BumpForge, BumpNote } from '../../activities/version-bump.js';
import { TrainyardError } from '../../domain/errors.js';

const sha = (n: number, prefix: string) => `${prefix}${String(n).padStart(40 - prefix.length, '0')}`;

interface MemRequest {
  number: number;
  branch: string;
  state: ChangeRequest['state'];
  title: string;
  body: string;
  labels: string[];
  createdAt: string;
  comments: string[];
}

interface MemPipeline {
  id: string;
  sha: string;
  ref: string;
  final: 'success' | 'failed';
  looks: number;
}

export class BumpWorld {
  /** Component commits, newest first, and whether each is green. */
  readonly componentCommits: { sha: string; subject: string; green: boolean }[] = [];
  readonly requests: MemRequest[] = [];
  readonly pipelines: MemPipeline[] = [];
  readonly notes: BumpNote[] = [];
  /** Consumer branches: head sha and files. */
  readonly branches = new Map<string, { head: string; files: Map<string, string> }>();
  /** Outcomes of pipelines in the order they start (retries included); then success. */
  pipelineOutcomes: ('success' | 'failed')[] = [];
  /** CI states of the consumer's default branch, one per look; the last one repeats. */
  masterStates: CommitState[] = ['success'];
  /** How many looks a pipeline reports `running` before its outcome. */
  runningLooks = 1;
  /** How many times the bump has looked at a pipeline of the consumer. */
  pipelineLooks = 0;
  private counter = 0;

  /** `now`: the clock requests are stamped with (the test server's, which skips time). */
  constructor(versionFile: string, initialVersion: string, private readonly now: () => Promise<number> = async () => Date.now()) {
    this.addComponentCommit('feat: first', true, initialVersion);
    this.branches.set('main', { head: sha(++this.counter, 'c'), files: new Map([[versionFile, `${initialVersion}\n`]]) });
  }

  addComponentCommit(subject: string, green: boolean, fixed?: string): string {
    const id = fixed ?? sha(++this.counter, 'a');
    this.componentCommits.unshift({ sha: id, subject, green });
    return id;
  }

  /** A person (or Trainyard) pushes a file to a consumer branch: a new head and its pipeline. */
  push(branch: string, path: string, content: string): string {
    const b = this.branches.get(branch);
    if (!b) throw new Error(`no branch ${branch}`);
    b.head = sha(++this.counter, 'b');
    b.files.set(path, content);
    if (branch !== 'main') this.startPipeline(b.head, branch);
    return b.head;
  }

  private startPipeline(head: string, ref: string): MemPipeline {
    const p: MemPipeline = { id: String(++this.counter), sha: head, ref, final: this.pipelineOutcomes.shift() ?? 'success', looks: 0 };
    this.pipelines.push(p);
    return p;
  }

  private run(p: MemPipeline): PipelineRun {
    p.looks += 1;
    this.pipelineLooks += 1;
    const status = p.looks <= this.runningLooks ? 'running' : p.final;
    const failedJobs = status === 'failed' ? [{ name: 'rspec 3/12', url: `https://ci.example/jobs/${p.id}` }] : undefined;
    return { id: p.id, url: `https://ci.example/pipelines/${p.id}`, ref: p.ref, sha: p.sha, status, ...(failedJobs ? { failedJobs } : {}) };
  }

  private view(r: MemRequest): ChangeRequest {
    return { number: r.number, url: `https://forge.example/mr/${r.number}`, title: r.title, body: r.body, state: r.state, sourceBranch: r.branch, targetBranch: 'main', headSha: this.branches.get(r.branch)!.head, labels: [...r.labels], createdAt: r.createdAt };
  }

  private request(n: number): MemRequest {
    const r = this.requests.find((x) => x.number === n);
    if (!r) throw new TrainyardError('FORGE_NOT_FOUND', `no request ${n}`, 'check the number');
    return r;
  }

  /** The component as a forge. */
  component(): BumpForge {
    const notUsed = async (): Promise<never> => {
      throw new Error('the component forge is read only here');
    };
    return {
      defaultBranch: 'main',
      resolveRef: async (ref) => ref,
      commitState: async (s) => (this.componentCommits.find((c) => c.sha === s)?.green ? 'success' : 'failure'),
      latestGreenCommit: async (_b, lookback) => this.componentCommits.slice(0, lookback).find((c) => c.green)?.sha,
      commitsBetween: async (from, to, limit) => {
        const i = this.componentCommits.findIndex((c) => c.sha === to);
        const j = this.componentCommits.findIndex((c) => c.sha === from);
        if (i < 0 || (from && j < 0)) throw new TrainyardError('REF_NOT_FOUND', `no ${from}`, 'check the ref');
        const between = this.componentCommits.slice(i, j < 0 ? undefined : j).map((c) => ({ sha: c.sha, subject: c.subject, author: 'dev', date: '2024-01-01T00:00:00Z' }));
        return { entries: between.slice(0, limit), truncated: between.length > limit };
      },
      readFile: notUsed, createBranch: notUsed, commitFile: notUsed, openChangeRequest: notUsed, findOpenChangeRequest: notUsed, getChangeRequest: notUsed,
      addLabels: notUsed, comment: notUsed, closeChangeRequest: notUsed, mergeWhenGreen: notUsed, latestPipeline: notUsed, retryPipeline: notUsed,
    };
  }

  /** The consumer as a forge. */
  consumer(): BumpForge {
    return {
      defaultBranch: 'main',
      resolveRef: async (ref) => this.branches.get(ref)?.head ?? ref,
      commitState: async () => (this.masterStates.length > 1 ? this.masterStates.shift()! : this.masterStates[0]!),
      latestGreenCommit: async () => undefined,
      commitsBetween: async () => ({ entries: [], truncated: false }),
      readFile: async (path, ref) => {
        const branch = [...this.branches.values()].find((b) => b.head === ref) ?? this.branches.get(ref);
        return branch?.files.get(path);
      },
      createBranch: async (branch, from) => {
        const existing = this.branches.get(branch);
        if (existing) return { sha: existing.head, created: false };
        const base = this.branches.get(from)!;
        this.branches.set(branch, { head: base.head, files: new Map(base.files) });
        return { sha: base.head, created: true };
      },
      commitFile: async ({ branch, path, content }) => {
        const b = this.branches.get(branch)!;
        if (b.files.get(path) === content) return { sha: b.head, changed: false };
        return { sha: this.push(branch, path, content), changed: true };
      },
      openChangeRequest: async (input: ChangeRequestInput) => {
        const open = this.requests.find((r) => r.branch === input.sourceBranch && r.state === 'open');
        if (open) {
          Object.assign(open, { title: input.title, body: input.body, labels: [...new Set([...open.labels, ...(input.labels ?? [])])] });
          return { change: this.view(open), created: false };
        }
        const r: MemRequest = { number: this.requests.length + 1, branch: input.sourceBranch, state: 'open', title: input.title, body: input.body, labels: [...(input.labels ?? [])], createdAt: new Date(await this.now()).toISOString(), comments: [] };
        this.requests.push(r);
        return { change: this.view(r), created: true };
      },
      findOpenChangeRequest: async (branch) => {
        const r = this.requests.find((x) => x.branch === branch && x.state === 'open');
        return r ? this.view(r) : undefined;
      },
      getChangeRequest: async (n) => this.view(this.request(n)),
      addLabels: async (n, labels) => void this.request(n).labels.push(...labels.filter((l) => !this.request(n).labels.includes(l))),
      comment: async (n, body) => void this.request(n).comments.push(body),
      closeChangeRequest: async (n) => void (this.request(n).state = this.request(n).state === 'merged' ? 'merged' : 'closed'),
      mergeWhenGreen: async (n) => {
        const r = this.request(n);
        const head = this.branches.get(r.branch)!;
        const p = [...this.pipelines].reverse().find((x) => x.sha === head.head);
        if (!p || p.looks <= this.runningLooks) return { state: 'scheduled' };
        if (p.final === 'failed') return { state: 'blocked' };
        r.state = 'merged';
        const main = this.branches.get('main')!;
        main.files = new Map(head.files);
        main.head = sha(++this.counter, 'm');
        return { state: 'merged', mergeCommit: main.head };
      },
      latestPipeline: async (ref) => {
        const p = [...this.pipelines].reverse().find((x) => x.ref === ref);
        return p ? this.run(p) : undefined;
      },
      retryPipeline: async (id) => {
        const old = this.pipelines.find((p) => p.id === id)!;
        return this.run(this.startPipeline(old.sha, old.ref));
      },
    };
  }
}
