/**
 * Pull requests on GitHub: one open request per branch, labels and comments through the issues API,
 * merging once the head is green (GitHub has no REST auto-merge: the caller asks again), and reverts
 * built with the git data API.
 */
import { TrainyardError } from '../../domain/errors.js';
import { isAnswer } from './github-client.js';
import type { GitHubHistory } from './github-history.js';
import type { GitHubRepo } from './github-repo.js';
import { TreeReader } from './github-trees.js';
import type { ChangeRequest, ChangeRequestInput } from './forge.js';

interface ApiPull {
  number: number;
  html_url: string;
  title: string;
  body: string | null;
  state: string;
  merged_at: string | null;
  merge_commit_sha: string | null;
  created_at: string;
  head: { ref: string; sha: string };
  base: { ref: string };
  labels: { name: string }[];
}

export function toChangeRequest(pr: ApiPull): ChangeRequest {
  const change: ChangeRequest = {
    number: pr.number,
    url: pr.html_url,
    title: pr.title,
    body: pr.body ?? '',
    state: pr.merged_at ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
    sourceBranch: pr.head.ref,
    targetBranch: pr.base.ref,
    headSha: pr.head.sha,
    labels: pr.labels.map((l) => l.name),
    createdAt: pr.created_at,
  };
  return pr.merged_at && pr.merge_commit_sha ? { ...change, mergeCommit: pr.merge_commit_sha } : change;
}

export class GitHubPulls {
  /**
   * Requests that mergeWhenGreen found pending. GitHub's REST API has no auto-merge (GraphQL has, and
   * only with branch protection), so a later look at such a request (get / findOpen) merges it once
   * its head is green, as GitLab and the local forge do. Per worker: after a restart the caller's next
   * mergeWhenGreen does the same.
   */
  private readonly autoMerge = new Set<number>();

  constructor(
    private readonly gh: GitHubRepo,
    private readonly defaultBranch: string,
    private readonly history: GitHubHistory,
  ) {}

  private checkNumber(number: number): void {
    if (!Number.isSafeInteger(number) || number <= 0) throw new TrainyardError('FORGE_NOT_FOUND', `pull request #${number} cannot exist`, 'Pull request numbers are positive integers.');
  }

  async open(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> {
    this.gh.checkRef(input.sourceBranch);
    this.gh.checkRef(input.targetBranch);
    let existing = await this.listOpen(input.sourceBranch, input.targetBranch);
    let created = false;
    if (!existing) {
      const made = await this.gh.call(`opening a pull request from ${input.sourceBranch}`, async (api) => {
        try {
          return (await api.rest.pulls.create({ ...this.gh.params, head: input.sourceBranch, base: input.targetBranch, title: input.title, body: input.body })).data;
        } catch (err) {
          // Another attempt opened it between our look and our write.
          if (isAnswer(err, 422, /already exists/i)) return undefined;
          throw err;
        }
      });
      if (made) {
        existing = toChangeRequest(made);
        created = true;
      } else {
        existing = await this.listOpen(input.sourceBranch, input.targetBranch);
        if (!existing) throw new TrainyardError('FORGE_CONFLICT', `GitHub says a pull request from ${input.sourceBranch} exists, but none is open`, 'Look at the branch\'s pull requests on GitHub and retry.');
      }
    }
    let change = existing;
    if (!created) {
      const { number } = existing;
      const { data } = await this.gh.call(`updating pull request #${number}`, (api) => api.rest.pulls.update({ ...this.gh.params, pull_number: number, title: input.title, body: input.body }));
      change = toChangeRequest(data);
    }
    if (input.labels && input.labels.length > 0) change = { ...change, labels: await this.addLabels(change.number, input.labels) };
    return { change, created };
  }

  async findOpen(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    const found = await this.listOpen(sourceBranch, targetBranch);
    if (!found) return undefined;
    // Looking may merge it (a request waiting for green that now is): then none is open.
    const change = await this.settle(found);
    return change.state === 'open' ? change : undefined;
  }

  private async listOpen(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    this.gh.checkRef(sourceBranch);
    if (targetBranch !== undefined) this.gh.checkRef(targetBranch);
    const { data } = await this.gh.call(`looking for the pull request from ${sourceBranch}`, (api) =>
      api.rest.pulls.list({ ...this.gh.params, state: 'open', head: `${this.gh.owner}:${sourceBranch}`, ...(targetBranch ? { base: targetBranch } : {}), per_page: 10 }),
    );
    const pr = data.find((p) => p.head.ref === sourceBranch);
    return pr ? toChangeRequest(pr) : undefined;
  }

  async get(number: number): Promise<ChangeRequest> {
    return this.settle(await this.read(number));
  }

  private async read(number: number): Promise<ChangeRequest> {
    this.checkNumber(number);
    const { data } = await this.gh.call(`reading pull request #${number}`, (api) => api.rest.pulls.get({ ...this.gh.params, pull_number: number }));
    return toChangeRequest(data);
  }

  /** Merges a request waiting for green whose head now is; a red head cancels the wait. */
  private async settle(change: ChangeRequest): Promise<ChangeRequest> {
    if (!this.autoMerge.has(change.number)) return change;
    if (change.state !== 'open') {
      this.autoMerge.delete(change.number);
      return change;
    }
    let outcome: Awaited<ReturnType<GitHubPulls['mergeIfGreen']>>;
    try {
      outcome = await this.mergeIfGreen(change);
    } catch (err) {
      // A read does not fail for its side effect: a conflict ends the wait, and the caller's next
      // mergeWhenGreen reports it; a blip leaves the wait for the next look.
      if (err instanceof TrainyardError && !err.retryable) this.autoMerge.delete(change.number);
      return change;
    }
    if (outcome.state !== 'scheduled') this.autoMerge.delete(change.number);
    return outcome.state === 'merged' ? this.read(change.number) : change;
  }

  /** Adds labels (GitHub keeps the existing ones); returns all labels now on the request. */
  async addLabels(number: number, labels: string[]): Promise<string[]> {
    this.checkNumber(number);
    const { data } = await this.gh.call(`labelling #${number}`, (api) => api.rest.issues.addLabels({ ...this.gh.params, issue_number: number, labels }));
    return data.map((l) => l.name);
  }

  async comment(number: number, body: string): Promise<void> {
    this.checkNumber(number);
    await this.gh.call(`commenting on #${number}`, (api) => api.rest.issues.createComment({ ...this.gh.params, issue_number: number, body }));
  }

  async close(number: number): Promise<void> {
    this.autoMerge.delete(number);
    const change = await this.read(number);
    if (change.state !== 'open') return;
    await this.gh.call(`closing #${number}`, (api) => api.rest.pulls.update({ ...this.gh.params, pull_number: number, state: 'closed' }));
  }

  async mergeWhenGreen(number: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    const change = await this.read(number);
    if (change.state === 'merged') return { state: 'merged', ...(change.mergeCommit ? { mergeCommit: change.mergeCommit } : {}) };
    if (change.state === 'closed') throw new TrainyardError('FORGE_CONFLICT', `pull request #${number} was closed without merging`, 'Reopen it on GitHub, or open a new one.');
    const outcome = await this.mergeIfGreen(change);
    if (outcome.state === 'scheduled') this.autoMerge.add(number);
    else this.autoMerge.delete(number);
    return outcome;
  }

  private async mergeIfGreen(change: ChangeRequest): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    const { number } = change;
    // No checks at all is nothing to wait for; branch protection, if any, still has its say below.
    const ci = await this.history.commitState(change.headSha);
    if (ci === 'failure') return { state: 'blocked' };
    if (ci === 'pending') return { state: 'scheduled' };
    const merged = await this.gh.call(`merging #${number}`, async (api) => {
      try {
        // The sha pins what was green: a head pushed meanwhile makes GitHub answer 409.
        return (await api.rest.pulls.merge({ ...this.gh.params, pull_number: number, sha: change.headSha, merge_method: 'merge' })).data.sha;
      } catch (err) {
        if (isAnswer(err, 409)) return undefined;
        // 405 also answers a merge that already happened (our own, retried after a timeout).
        if (isAnswer(err, 405)) {
          const now = (await api.rest.pulls.get({ ...this.gh.params, pull_number: number })).data;
          if (now.merged_at && now.merge_commit_sha) return now.merge_commit_sha;
        }
        throw err;
      }
    });
    return merged ? { state: 'merged', mergeCommit: merged } : { state: 'scheduled' };
  }

  async revert(number: number): Promise<ChangeRequest> {
    const change = await this.read(number);
    if (change.state !== 'merged' || !change.mergeCommit) {
      throw new TrainyardError('FORGE_CONFLICT', `pull request #${number} is not merged, so there is nothing to revert`, 'Close it instead.');
    }
    const branch = `revert-${number}`;
    const open = await this.listOpen(branch, this.defaultBranch);
    if (open) return open;
    const title = `Revert "${change.title}"`;
    // A branch left by an earlier attempt is used as it is.
    if (!(await this.gh.ref(`heads/${branch}`))) {
      const head = await this.gh.ref(`heads/${this.defaultBranch}`);
      if (!head) throw new TrainyardError('REF_NOT_FOUND', `default branch ${this.defaultBranch} was not found in ${this.gh.repository}`, 'Fix forge.defaultBranch in the config.');
      const trees = new TreeReader(this.gh);
      const merge = await trees.commit(change.mergeCommit);
      const parent = merge.parents[0];
      const before = parent === undefined ? undefined : (await trees.commit(parent)).tree;
      const message = `${title}\n\nThis reverts commit ${merge.sha} (#${number}).`;
      const sha = await trees.replay(head.sha, [{ from: merge.tree, to: before, message }], (paths) =>
        new TrainyardError('FORGE_CONFLICT', `#${number} cannot be reverted cleanly: ${paths.slice(0, 5).join(', ')} changed since`, 'Revert it by hand (git revert -m 1) and open the pull request yourself.'),
      );
      await this.gh.createRef(`heads/${branch}`, sha);
    }
    const { change: revert } = await this.open({ sourceBranch: branch, targetBranch: this.defaultBranch, title, body: `Reverts #${number}.` });
    return revert;
  }
}
