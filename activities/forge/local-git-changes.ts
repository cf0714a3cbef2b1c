/**
 * Pull requests of the local forge: `<gitdir>/trainyard/changes/<n>.json`, merged with a real
 * `git merge --no-ff` whose subject is GitHub's ("Merge pull request #n from <branch>"), so the
 * changelog finds the number in history.
 *
 * Auto-merge: `mergeWhenGreen` on a pending head answers 'scheduled'; the merge then happens when
 * the request is next looked at (get / find / open / mergeWhenGreen) with its head green, as a
 * forge would merge it when CI reports. A head that turns red, or a conflict, cancels the
 * auto-merge with a comment saying why.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clipText, MAX_AUTHOR_LENGTH } from '../../domain/changelog.js';
import { TrainyardError } from '../../domain/errors.js';
import type { ChangeRequest, ChangeRequestInput, CommitState, MergedChange } from './forge.js';
import { type ChangeRecord, checkBody, checkLabels, checkTitle, isChangeRecord, loadAll, MAX_TITLE, parentCount } from './local-git-change-record.js';
import { FORGE_IDENTITY, gitComplaint, type GitRepo } from './local-git-repo.js';
import { createNumbered, readJson, withLock, writeJson } from './local-git-store.js';

export interface ChangeHooks {
  commitState(sha: string): Promise<CommitState>;
  /** Starts CI for a branch whose head has none (as a push would); false when no CI is configured. */
  startChecks(branch: string): Promise<boolean>;
}

const now = () => new Date().toISOString();

export class LocalChangeRequests {
  constructor(
    private readonly repo: GitRepo,
    private readonly hooks: ChangeHooks,
  ) {}

  private dir(): Promise<string> {
    return this.repo.recordDir('changes');
  }

  private async file(n: number): Promise<string> {
    return join(await this.dir(), `${n}.json`);
  }

  private async load(n: number): Promise<ChangeRecord> {
    const found = Number.isSafeInteger(n) && n > 0 ? await readJson(await this.file(n), isChangeRecord, 'Restore or delete the damaged file.') : undefined;
    if (!found) throw new TrainyardError('FORGE_NOT_FOUND', `pull request #${n} was not found in ${this.repo.path}`, 'Check the number (the requests are in .git/trainyard/changes).');
    return found;
  }

  private async save(record: ChangeRecord): Promise<ChangeRecord> {
    await writeJson(await this.file(record.number), record);
    return record;
  }

  /** Read-modify-write of one record under the lock. */
  private update(n: number, change: (record: ChangeRecord) => ChangeRecord | Promise<ChangeRecord>): Promise<ChangeRecord> {
    return this.locked(async () => this.save(await change(await this.load(n))));
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(await this.dir(), fn);
  }

  private async toChange(record: ChangeRecord): Promise<ChangeRequest> {
    // An open request follows its branch, as on a forge; a finished one keeps the head it ended with.
    const head = record.state === 'open' ? await this.repo.branchHead(record.sourceBranch) : undefined;
    return {
      number: record.number,
      url: pathToFileURL(await this.file(record.number)).href,
      title: record.title,
      body: record.body,
      state: record.state,
      sourceBranch: record.sourceBranch,
      targetBranch: record.targetBranch,
      headSha: head ?? record.headSha,
      labels: [...record.labels],
      ...(record.mergeCommit ? { mergeCommit: record.mergeCommit } : {}),
      createdAt: record.createdAt,
    };
  }

  async open(input: ChangeRequestInput): Promise<{ change: ChangeRequest; created: boolean }> {
    checkTitle(input.title);
    checkBody(input.body, 'body');
    checkLabels(input.labels ?? []);
    if (input.sourceBranch === input.targetBranch) throw new TrainyardError('FORGE_INVALID', `a pull request from ${input.sourceBranch} into itself`, 'Open it from another branch.');
    const head = await this.requireBranch(input.sourceBranch);
    const base = await this.requireBranch(input.targetBranch);
    const author = clipText((await this.repo.must(['log', '-1', '--format=%an', '--end-of-options', head])).trim(), MAX_AUTHOR_LENGTH);
    const result = await this.locked(async () => {
      const dir = await this.dir();
      const open = (await loadAll(dir)).find((r) => r.state === 'open' && r.sourceBranch === input.sourceBranch && r.targetBranch === input.targetBranch);
      if (open) {
        // Labels are added, never dropped: a person (or a check) may have labelled it since.
        const labels = [...new Set([...open.labels, ...(input.labels ?? [])])];
        return { record: await this.save({ ...open, title: input.title, body: input.body, labels, headSha: head, updatedAt: now() }), created: false };
      }
      if (await this.repo.isAncestor(head, base)) {
        throw new TrainyardError('FORGE_INVALID', `there are no commits between ${input.targetBranch} and ${input.sourceBranch}`, 'Commit the change to the branch first.');
      }
      const record = await createNumbered<ChangeRecord>(dir, (number) => ({
        number, title: input.title, body: input.body, state: 'open', sourceBranch: input.sourceBranch, targetBranch: input.targetBranch,
        headSha: head, labels: [...new Set(input.labels ?? [])], author, createdAt: now(), comments: [],
      }));
      return { record, created: true };
    });
    const settled = result.created ? result.record : await this.settle(result.record);
    return { change: await this.toChange(settled), created: result.created };
  }

  private async requireBranch(branch: string): Promise<string> {
    const sha = await this.repo.branchHead(branch);
    if (sha === undefined) throw new TrainyardError('REF_NOT_FOUND', `branch ${branch} was not found in ${this.repo.path}`, 'Create the branch before opening a pull request.');
    return sha;
  }

  async findOpen(sourceBranch: string, targetBranch?: string): Promise<ChangeRequest | undefined> {
    this.repo.checkRef(sourceBranch);
    if (targetBranch !== undefined) this.repo.checkRef(targetBranch);
    const all = await loadAll(await this.dir());
    const open = all.filter((r) => r.state === 'open' && r.sourceBranch === sourceBranch && (targetBranch === undefined || r.targetBranch === targetBranch));
    for (const record of open.reverse()) {
      const settled = await this.settle(record);
      if (settled.state === 'open') return this.toChange(settled);
    }
    return undefined;
  }

  async get(n: number): Promise<ChangeRequest> {
    return this.toChange(await this.settle(await this.load(n)));
  }

  async addLabels(n: number, labels: string[]): Promise<void> {
    checkLabels(labels);
    await this.update(n, (r) => ({ ...r, labels: [...new Set([...r.labels, ...labels])], updatedAt: now() }));
  }

  async comment(n: number, body: string): Promise<void> {
    checkBody(body, 'comment');
    await this.update(n, (r) => ({ ...r, comments: [...r.comments, { body, createdAt: now() }], updatedAt: now() }));
  }

  async close(n: number): Promise<void> {
    await this.update(n, (r) => {
      if (r.state === 'merged') throw new TrainyardError('FORGE_CONFLICT', `pull request #${n} is already merged and cannot be closed`, 'Revert it instead (a new pull request).');
      return r.state === 'closed' ? r : { ...r, state: 'closed', autoMerge: false, closedAt: now(), updatedAt: now() };
    });
  }

  async mergeWhenGreen(n: number): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
    return this.locked(async () => {
      const record = await this.load(n);
      if (record.state === 'merged') return { state: 'merged', mergeCommit: record.mergeCommit };
      if (record.state === 'closed') throw new TrainyardError('FORGE_CONFLICT', `pull request #${n} is closed`, 'Open a new pull request for the branch.');
      const head = await this.headOf(record);
      let state = await this.hooks.commitState(head);
      // Nothing ran on this head: run CI now, as a push would have; with no CI at all there is nothing to wait for.
      if (state === 'none') state = (await this.hooks.startChecks(record.sourceBranch)) ? 'pending' : 'success';
      if (state === 'failure') {
        await this.save({ ...record, autoMerge: false, updatedAt: now() });
        return { state: 'blocked' };
      }
      if (state === 'pending') {
        await this.save({ ...record, autoMerge: true, updatedAt: now() });
        return { state: 'scheduled' };
      }
      const merged = await this.merge(record, head);
      return { state: 'merged', mergeCommit: merged.mergeCommit };
    });
  }

  /** Performs a scheduled auto-merge whose head has turned green, or cancels one whose head failed. */
  private async settle(record: ChangeRecord): Promise<ChangeRecord> {
    if (record.state !== 'open' || !record.autoMerge) return record;
    const head = await this.repo.branchHead(record.sourceBranch);
    const state = head === undefined ? 'failure' : await this.hooks.commitState(head);
    if (state !== 'success' && state !== 'failure') return record;
    return this.locked(async () => {
      const current = await this.load(record.number);
      if (current.state !== 'open' || !current.autoMerge) return current;
      const cancel = (why: string) => this.save({ ...current, autoMerge: false, updatedAt: now(), comments: [...current.comments, { body: `Auto-merge canceled: ${why}.`, createdAt: now() }] });
      if (state === 'failure' || head === undefined) return cancel(head === undefined ? `branch ${current.sourceBranch} was deleted` : `the checks of ${head.slice(0, 12)} failed`);
      try {
        return await this.merge(current, head);
      } catch (err) {
        if (err instanceof TrainyardError && err.code === 'FORGE_CONFLICT') return cancel(err.message);
        throw err;
      }
    });
  }

  private async headOf(record: ChangeRecord): Promise<string> {
    const head = await this.repo.branchHead(record.sourceBranch);
    if (head === undefined) throw new TrainyardError('FORGE_CONFLICT', `branch ${record.sourceBranch} of pull request #${record.number} no longer exists`, 'Close the pull request, or push the branch again.');
    return head;
  }

  /** Merges into the target branch (holding the lock) and records it. */
  private async merge(record: ChangeRecord, head: string): Promise<ChangeRecord> {
    const { targetBranch: target, number: n } = record;
    const tip = await this.repo.branchHead(target);
    let mergeCommit: string;
    if (tip !== undefined && (await this.repo.isAncestor(head, tip))) {
      // Already in: a retry after the branch moved but before the record was saved, or merged by hand.
      mergeCommit = (await this.findMergeCommit(n, target)) ?? head;
    } else {
      const message = `Merge pull request #${n} from ${record.sourceBranch}`;
      ({ sha: mergeCommit } = await this.repo.commitOnBranch(target, (base) =>
        this.repo.inWorktree(base, `the merge of #${n}`, async (dir) => {
          const merged = await this.repo.gitIn(dir, ['merge', '--no-ff', '--no-edit', '-m', message, '-m', record.title, '--end-of-options', head], { env: FORGE_IDENTITY });
          if (!merged.ok) {
            await this.repo.gitIn(dir, ['merge', '--abort']);
            throw new TrainyardError('FORGE_CONFLICT', `pull request #${n} (${record.sourceBranch}) does not merge cleanly into ${target}: ${gitComplaint(merged)}`, `Merge ${target} into ${record.sourceBranch}, resolve the conflicts, and try again.`);
          }
          return (await this.repo.gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim();
        }),
      ));
    }
    return this.save({ ...record, state: 'merged', autoMerge: false, headSha: head, mergeCommit, mergedAt: now(), updatedAt: now() });
  }

  private async findMergeCommit(n: number, target: string): Promise<string | undefined> {
    const out = await this.repo.git(['log', '--first-parent', '-n', '1', '--format=%H', `--grep=^Merge pull request #${n} from `, `refs/heads/${target}`, '--']);
    return out.stdout.trim() || undefined;
  }

  async revert(n: number): Promise<ChangeRequest> {
    const record = await this.load(n);
    if (record.state !== 'merged' || !record.mergeCommit) {
      throw new TrainyardError('FORGE_CONFLICT', `pull request #${n} is ${record.state}, not merged, so there is nothing to revert`, 'Close it instead.');
    }
    const branch = `revert-${n}`;
    const earlier = (await loadAll(await this.dir())).filter((r) => r.sourceBranch === branch && r.targetBranch === record.targetBranch).at(-1);
    if (earlier) return this.toChange(earlier);
    if ((await this.repo.branchHead(branch)) === undefined) {
      const base = await this.requireBranch(record.targetBranch);
      const mainline = (await parentCount(this.repo, record.mergeCommit)) > 1 ? ['-m', '1'] : [];
      const reverted = await this.repo.inWorktree(base, `the revert of #${n}`, async (dir) => {
        const out = await this.repo.gitIn(dir, ['revert', '--no-edit', ...mainline, '--end-of-options', record.mergeCommit!], { env: FORGE_IDENTITY });
        if (!out.ok) {
          await this.repo.gitIn(dir, ['revert', '--abort']);
          throw new TrainyardError('FORGE_CONFLICT', `reverting pull request #${n} conflicts with ${record.targetBranch}: ${gitComplaint(out)}`, 'Revert it by hand on a branch and open a pull request.');
        }
        return (await this.repo.gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim();
      });
      // Another writer may have created it meanwhile: theirs is as good as ours.
      await this.repo.createBranchAt(branch, reverted);
    }
    const title = clipText(`Revert "${record.title}"`, MAX_TITLE);
    return (await this.open({ sourceBranch: branch, targetBranch: record.targetBranch, title, body: `Reverts #${n}.` })).change;
  }

  async mergedBetween(from: string | undefined, to: string, limit: number): Promise<{ changes: MergedChange[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    const toSha = await this.repo.resolveRef(to);
    const fromSha = from === undefined ? undefined : await this.repo.resolveRef(from);
    const out = await this.repo.must(['rev-list', '--end-of-options', toSha, ...(fromSha ? [`^${fromSha}`] : []), '--']);
    // Position in the range, newest first: the order the changes are listed in.
    const position = new Map(out.split('\n').filter(Boolean).map((sha, i) => [sha, i]));
    const merged = (await loadAll(await this.dir()))
      .filter((r) => r.state === 'merged' && r.mergeCommit !== undefined && position.has(r.mergeCommit))
      .sort((a, b) => position.get(a.mergeCommit!)! - position.get(b.mergeCommit!)!);
    const changes = await Promise.all(
      merged.slice(0, max).map(async (r) => ({
        number: r.number, title: r.title, author: r.author, url: pathToFileURL(await this.file(r.number)).href,
        labels: [...r.labels], mergedAt: r.mergedAt ?? r.updatedAt ?? r.createdAt, mergeCommit: r.mergeCommit!,
      })),
    );
    return { changes, truncated: merged.length > max };
  }
}
