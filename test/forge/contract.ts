/**
 * The forge contract: the same behaviour from local git, GitHub and GitLab. Each forge's test file
 * calls `forgeContract` with a fixture that seeds its backing store (a real repository, or the fake
 * server's state) the way a person or a CI system would, and then only the `Forge` interface is used.
 */
import { pollUntil } from '../helpers/poll.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitState, Forge, PipelineStatus } from '../../activities/forge/forge.js';
import { TrainyardError } from '../../domain/errors.js';

export interface ForgeFixture {
  forge: Forge;
  /** Adds a commit to `branch` (created from the default branch when missing); returns its sha. */
  commit(branch: string, message: string, files?: Record<string, string>): Promise<string>;
  /** What CI says about a commit (a check run / status on GitHub, a pipeline on GitLab, a record locally). */
  setCommitState(sha: string, state: Exclude<CommitState, 'none'>): Promise<void>;
  /**
   * A pull/merge request from a fresh branch with one commit, merged into the default branch with a
   * merge commit. Returns its number and the merge commit.
   */
  mergedChange(title: string, opts?: { labels?: string[]; author?: string }): Promise<{ number: number; mergeCommit: string }>;
  /** Ends a run (pipeline / workflow run / local job) with this status. */
  finishPipeline(id: string, status: Extract<PipelineStatus, 'success' | 'failed'>): Promise<void>;
  /** The variables (GitLab) or inputs (GitHub) a run was started with. */
  pipelineVariables(id: string): Promise<Record<string, string>>;
  /** Comments on a pull/merge request, oldest first. */
  comments(number: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof TrainyardError)) throw err;
    return err.code;
  }
  throw new Error('expected a TrainyardError, got success');
}

/** Waits (real time) until `fn` returns a value that is not undefined. */
export function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  return pollUntil('the forge to show the change', fn, { timeoutMs, stopOn: () => true });
}

export function forgeContract(name: string, create: () => Promise<ForgeFixture>): void {
  describe(`Forge contract: ${name}`, () => {
    let fx: ForgeFixture;
    let forge: Forge;
    beforeEach(async () => {
      fx = await create();
      forge = fx.forge;
    });
    afterEach(async () => {
      await fx.close();
    });

    describe('refs and CI state', () => {
      it('resolves a branch head, a tag and a sha; unknown refs are REF_NOT_FOUND', async () => {
        const sha = await fx.commit(forge.defaultBranch, 'feat: one');
        expect(await forge.resolveRef(forge.defaultBranch)).toBe(sha);
        expect(await forge.resolveRef(sha)).toBe(sha);
        await forge.createTag('v1.0.0', sha, 'Release v1.0.0');
        expect(await forge.resolveRef('v1.0.0')).toBe(sha);
        expect(await errorCode(forge.resolveRef('no-such-branch'))).toBe('REF_NOT_FOUND');
      });

      it('compares two commits as GitHub does: ahead, behind, identical, or diverged (a cherry-pick is not the commit)', async () => {
        const released = await fx.commit(forge.defaultBranch, 'feat: released');
        await forge.createTag('v3.0.0', released, 'Release v3.0.0');
        const fix = await fx.commit(`hotfix/v3.0.1`, 'fix: payment timeout', { 'payment.txt': 'timeout: 30s\n' });
        const newer = await fx.commit(forge.defaultBranch, 'feat: banner', { 'banner.txt': 'hello\n' });
        expect(await forge.compareCommits(released, newer)).toBe('ahead');
        expect(await forge.compareCommits('v3.0.0', newer)).toBe('ahead');
        expect(await forge.compareCommits(newer, released)).toBe('behind');
        expect(await forge.compareCommits(newer, newer)).toBe('identical');
        // The hotfix branch (from the release, with its own fix) and main each lack the other's commit.
        expect(await forge.compareCommits(fix, newer)).toBe('diverged');
        expect(await forge.compareCommits(newer, fix)).toBe('diverged');
        expect(await forge.compareCommits(released, fix)).toBe('ahead');
        expect(await errorCode(forge.compareCommits(released, 'no-such-ref'))).toBe('REF_NOT_FOUND');
        expect(await errorCode(forge.compareCommits('a..b', newer))).toBe('INVALID_REF');
      });

      it('rejects refs git would not accept before asking anyone', async () => {
        for (const bad of ['a..b', '-rf', 'has space', 'x\u0001y', 'a'.repeat(300)]) {
          expect(await errorCode(forge.resolveRef(bad))).toBe('INVALID_REF');
        }
      });

      it('reports the CI state of a commit', async () => {
        const sha = await fx.commit(forge.defaultBranch, 'feat: state');
        expect(await forge.commitState(sha)).toBe('none');
        await fx.setCommitState(sha, 'pending');
        expect(await forge.commitState(sha)).toBe('pending');
        await fx.setCommitState(sha, 'failure');
        expect(await forge.commitState(sha)).toBe('failure');
        await fx.setCommitState(sha, 'success');
        expect(await forge.commitState(sha)).toBe('success');
      });

      it('finds the latest green commit within the look-back, skipping red and pending ones', async () => {
        const green = await fx.commit(forge.defaultBranch, 'feat: green');
        await fx.setCommitState(green, 'success');
        const red = await fx.commit(forge.defaultBranch, 'feat: red');
        await fx.setCommitState(red, 'failure');
        const pending = await fx.commit(forge.defaultBranch, 'feat: pending');
        await fx.setCommitState(pending, 'pending');
        expect(await forge.latestGreenCommit(forge.defaultBranch, 10)).toBe(green);
        // Only the two newest are looked at: none of them is green.
        expect(await forge.latestGreenCommit(forge.defaultBranch, 2)).toBeUndefined();
        const newer = await fx.commit(forge.defaultBranch, 'feat: newer');
        await fx.setCommitState(newer, 'success');
        expect(await forge.latestGreenCommit(forge.defaultBranch, 10)).toBe(newer);
      });
    });

    describe('tags', () => {
      it('creates an annotated tag idempotently and never moves one', async () => {
        const first = await fx.commit(forge.defaultBranch, 'feat: a');
        expect(await forge.createTag('v2.0.0', first, 'Release v2.0.0')).toEqual({ created: true });
        expect(await forge.createTag('v2.0.0', first, 'Release v2.0.0')).toEqual({ created: false });
        const second = await fx.commit(forge.defaultBranch, 'feat: b');
        expect(await errorCode(forge.createTag('v2.0.0', second, 'again'))).toBe('TAG_CONFLICT');
        expect(await forge.tagCommit('v2.0.0')).toBe(first);
        expect(await forge.tagCommit('v9.9.9')).toBeUndefined();
      });

      it('lists tags by prefix', async () => {
        const sha = await fx.commit(forge.defaultBranch, 'feat: a');
        await forge.createTag('api/v1', sha, 'r');
        await forge.createTag('api/v2', sha, 'r');
        await forge.createTag('web/v1', sha, 'r');
        expect((await forge.listTags('api/')).sort()).toEqual(['api/v1', 'api/v2']);
      });
    });

    describe('history between refs', () => {
      it('lists the commits between two tags, newest first, with PR numbers from merge subjects', async () => {
        const base = await fx.commit(forge.defaultBranch, 'chore: base');
        await forge.createTag('v1', base, 'r');
        const a = await fx.commit(forge.defaultBranch, 'feat: first (#12)');
        const b = await fx.commit(forge.defaultBranch, 'fix: second');
        await forge.createTag('v2', b, 'r');
        const { entries, truncated } = await forge.commitsBetween('v1', 'v2', 100);
        expect(entries.map((e) => e.sha)).toEqual([b, a]);
        expect(entries[1]).toMatchObject({ subject: 'feat: first (#12)', pr: 12 });
        expect(entries[0]?.author).toBeTruthy();
        expect(truncated).toBe(false);
        const limited = await forge.commitsBetween('v1', 'v2', 1);
        expect(limited).toMatchObject({ truncated: true });
        expect(limited.entries.map((e) => e.sha)).toEqual([b]);
      });

      it('pages through hundreds of commits', async () => {
        const base = await fx.commit(forge.defaultBranch, 'chore: base');
        await forge.createTag('v1', base, 'r');
        let last = base;
        for (let i = 0; i < 250; i++) last = await fx.commit(forge.defaultBranch, `feat: change ${i}`);
        const { entries, truncated } = await forge.commitsBetween('v1', last, 1000);
        expect(entries).toHaveLength(250);
        expect(entries[0]?.subject).toBe('feat: change 249');
        expect(entries[249]?.subject).toBe('feat: change 0');
        expect(truncated).toBe(false);
      });

      it('lists the merged pull/merge requests between two refs', async () => {
        const base = await fx.commit(forge.defaultBranch, 'chore: base');
        await forge.createTag('v1', base, 'r');
        const one = await fx.mergedChange('Add the login page', { labels: ['qa-approved'] });
        const two = await fx.mergedChange('Fix the footer');
        await forge.createTag('v2', two.mergeCommit, 'r');
        const later = await fx.mergedChange('Not in this release');
        const { changes, truncated } = await forge.mergedChangesBetween('v1', 'v2', 100);
        expect(truncated).toBe(false);
        expect(changes.map((c) => c.number).sort((x, y) => x - y)).toEqual([one.number, two.number].sort((x, y) => x - y));
        expect(changes.find((c) => c.number === later.number)).toBeUndefined();
        const login = changes.find((c) => c.number === one.number);
        expect(login).toMatchObject({ title: 'Add the login page', labels: ['qa-approved'], mergeCommit: one.mergeCommit });
        expect(login?.url).toBeTruthy();
      });
    });

    describe('releases', () => {
      it('publishes a release, updates it in place, and reads the latest', async () => {
        const sha = await fx.commit(forge.defaultBranch, 'feat: a');
        await forge.createTag('v1', sha, 'r');
        const first = await forge.publishRelease({ tag: 'v1', name: 'v1', notes: 'draft notes', prerelease: true });
        expect(first.created).toBe(true);
        expect(await forge.getRelease('v1')).toMatchObject({ tag: 'v1', notes: 'draft notes', prerelease: true });
        expect(await forge.latestRelease()).toBeUndefined();
        const second = await forge.publishRelease({ tag: 'v1', name: 'Version 1', notes: 'final notes', prerelease: false, latest: true });
        expect(second).toMatchObject({ created: false });
        expect(await forge.getRelease('v1')).toMatchObject({ name: 'Version 1', notes: 'final notes', prerelease: false });
        expect(await forge.latestRelease()).toMatchObject({ tag: 'v1' });
        expect(await forge.getRelease('v2')).toBeUndefined();
      });

      it('refuses a release for a tag that does not exist', async () => {
        expect(await errorCode(forge.publishRelease({ tag: 'v404', name: 'v404', notes: '', prerelease: false }))).toMatch(/REF_NOT_FOUND|FORGE_INVALID/);
      });
    });

    describe('branches and files', () => {
      it('creates a branch idempotently, commits a file once, and reads it back', async () => {
        const head = await fx.commit(forge.defaultBranch, 'feat: a', { 'VERSION': '1.0.0\n' });
        expect(await forge.createBranch('bump-version', forge.defaultBranch)).toEqual({ sha: head, created: true });
        expect(await forge.createBranch('bump-version', forge.defaultBranch)).toEqual({ sha: head, created: false });
        const bumped = await forge.commitFile({ branch: 'bump-version', path: 'VERSION', content: '1.1.0\n', message: 'Update version' });
        expect(bumped.changed).toBe(true);
        expect(bumped.sha).not.toBe(head);
        expect(await forge.resolveRef('bump-version')).toBe(bumped.sha);
        expect(await forge.commitFile({ branch: 'bump-version', path: 'VERSION', content: '1.1.0\n', message: 'Update version' })).toEqual({ sha: bumped.sha, changed: false });
        expect(await forge.readFile('VERSION', 'bump-version')).toBe('1.1.0\n');
        expect(await forge.readFile('VERSION', forge.defaultBranch)).toBe('1.0.0\n');
        expect(await forge.readFile('MISSING', forge.defaultBranch)).toBeUndefined();
      });
    });

    describe('pull / merge requests', () => {
      it('opens one request per branch, updating the open one instead of opening another', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        await forge.createBranch('bump', forge.defaultBranch);
        const { sha } = await forge.commitFile({ branch: 'bump', path: 'VERSION', content: '2\n', message: 'Bump' });
        const opened = await forge.openChangeRequest({ sourceBranch: 'bump', targetBranch: forge.defaultBranch, title: 'Update version', body: 'first', labels: ['bump'] });
        expect(opened.created).toBe(true);
        expect(opened.change).toMatchObject({ state: 'open', sourceBranch: 'bump', targetBranch: forge.defaultBranch, headSha: sha, title: 'Update version', body: 'first' });
        expect(opened.change.labels).toContain('bump');
        const again = await forge.openChangeRequest({ sourceBranch: 'bump', targetBranch: forge.defaultBranch, title: 'Update version to 2', body: 'second' });
        expect(again.created).toBe(false);
        expect(again.change.number).toBe(opened.change.number);
        expect(await forge.getChangeRequest(opened.change.number)).toMatchObject({ title: 'Update version to 2', body: 'second' });
        expect((await forge.findOpenChangeRequest('bump'))?.number).toBe(opened.change.number);
        expect(await forge.findOpenChangeRequest('other')).toBeUndefined();
      });

      it('labels, comments and closes', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        await forge.createBranch('topic', forge.defaultBranch);
        await forge.commitFile({ branch: 'topic', path: 'x.txt', content: 'x', message: 'x' });
        const { change } = await forge.openChangeRequest({ sourceBranch: 'topic', targetBranch: forge.defaultBranch, title: 'Topic', body: '' });
        await forge.addLabels(change.number, ['stale']);
        await forge.addLabels(change.number, ['needs-attention']);
        await forge.comment(change.number, 'Pipeline failed: see the job');
        expect((await forge.getChangeRequest(change.number)).labels.sort()).toEqual(['needs-attention', 'stale']);
        expect(await fx.comments(change.number)).toEqual(['Pipeline failed: see the job']);
        await forge.closeChangeRequest(change.number);
        await forge.closeChangeRequest(change.number);
        expect((await forge.getChangeRequest(change.number)).state).toBe('closed');
        expect(await forge.findOpenChangeRequest('topic')).toBeUndefined();
        expect(await errorCode(forge.getChangeRequest(99_999))).toBe('FORGE_NOT_FOUND');
      });

      it('merges only when the head is green', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        await forge.createBranch('ready', forge.defaultBranch);
        const { sha } = await forge.commitFile({ branch: 'ready', path: 'r.txt', content: 'r', message: 'ready' });
        const { change } = await forge.openChangeRequest({ sourceBranch: 'ready', targetBranch: forge.defaultBranch, title: 'Ready', body: '' });
        await fx.setCommitState(sha, 'failure');
        expect((await forge.mergeWhenGreen(change.number)).state).toBe('blocked');
        await fx.setCommitState(sha, 'pending');
        const pending = await forge.mergeWhenGreen(change.number);
        // GitLab schedules an auto-merge; GitHub and local git say "not yet" and are asked again.
        if (pending.state === 'scheduled') {
          await fx.setCommitState(sha, 'success');
          const merged = await eventually(async () => {
            const c = await forge.getChangeRequest(change.number);
            return c.state === 'merged' ? c : undefined;
          });
          expect(merged.mergeCommit).toBeTruthy();
        } else {
          expect(pending.state).not.toBe('merged');
          await fx.setCommitState(sha, 'success');
          const merged = await forge.mergeWhenGreen(change.number);
          expect(merged.state).toBe('merged');
          expect(merged.mergeCommit).toBeTruthy();
        }
        expect(await forge.readFile('r.txt', forge.defaultBranch)).toBe('r');
        // Merging a merged request again is success (a retried activity).
        expect((await forge.mergeWhenGreen(change.number)).state).toBe('merged');
      });

      it('reverts a merged request through a new request', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        const merged = await fx.mergedChange('Break something');
        const revert = await forge.revertChangeRequest(merged.number);
        expect(revert.state).toBe('open');
        expect(revert.targetBranch).toBe(forge.defaultBranch);
        expect(revert.title).toMatch(/Revert/);
        expect((await forge.revertChangeRequest(merged.number)).number).toBe(revert.number);
      });
    });

    describe('pipelines', () => {
      it('triggers a run with variables, finds it, follows it to its end', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        const run = await forge.triggerPipeline({ ref: forge.defaultBranch, variables: { ENV: 'staging', TRIGGER_ID: 'e2e' }, workflow: 'e2e.yml' });
        expect(run.id).toBeTruthy();
        expect(['pending', 'running']).toContain(run.status);
        expect(await fx.pipelineVariables(run.id)).toMatchObject({ ENV: 'staging', TRIGGER_ID: 'e2e' });
        await fx.finishPipeline(run.id, 'failed');
        expect((await eventually(async () => {
          const r = await forge.getPipeline(run.id);
          return r.status === 'failed' ? r : undefined;
        })).status).toBe('failed');
        const retried = await forge.retryPipeline(run.id);
        expect(['pending', 'running']).toContain(retried.status);
        await fx.finishPipeline(retried.id, 'success');
        await eventually(async () => ((await forge.getPipeline(retried.id)).status === 'success' ? true : undefined));
      });

      it('finds the newest run of a ref', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        await fx.commit('other', 'feat: elsewhere');
        expect(await forge.latestPipeline('other')).toBeUndefined();
        const first = await forge.triggerPipeline({ ref: forge.defaultBranch, workflow: 'ci.yml' });
        await fx.finishPipeline(first.id, 'success');
        const second = await forge.triggerPipeline({ ref: forge.defaultBranch, workflow: 'ci.yml' });
        expect((await forge.latestPipeline(forge.defaultBranch))?.id).toBe(second.id);
        await fx.finishPipeline(second.id, 'success');
      });

      it('finds the run a trigger started when its answer was lost, and no other', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        await fx.commit('other', 'feat: elsewhere');
        const since = Date.now() - 1_000;
        const staging = { ref: forge.defaultBranch, variables: { ENV: 'staging', VERSION: 'v1' }, workflow: 'deploy.yml' };
        expect(await forge.findTriggeredPipeline(staging, since)).toBeUndefined();
        const run = await forge.triggerPipeline(staging);
        expect((await forge.findTriggeredPipeline(staging, since))?.id).toBe(run.id);
        // Another workflow with other variables, another ref, or a window that starts after the run: not it.
        expect(await forge.findTriggeredPipeline({ ...staging, variables: { ENV: 'production', VERSION: 'v1' }, workflow: 'e2e.yml' }, since)).toBeUndefined();
        expect(await forge.findTriggeredPipeline({ ...staging, ref: 'other' }, since)).toBeUndefined();
        expect(await forge.findTriggeredPipeline(staging, Date.now() + 5_000)).toBeUndefined();
        await fx.finishPipeline(run.id, 'success');
        expect((await eventually(async () => {
          const r = await forge.findTriggeredPipeline(staging, since);
          return r?.status === 'success' ? r : undefined;
        })).id).toBe(run.id);
      });

      it('cancels a run; cancelling a finished run is success', async () => {
        await fx.commit(forge.defaultBranch, 'feat: a');
        const run = await forge.triggerPipeline({ ref: forge.defaultBranch, workflow: 'deploy.yml' });
        await forge.cancelPipeline(run.id);
        await eventually(async () => ((await forge.getPipeline(run.id)).status === 'canceled' ? true : undefined));
        await forge.cancelPipeline(run.id);
        expect(await errorCode(forge.getPipeline('987654321'))).toBe('FORGE_NOT_FOUND');
      });
    });
  });
}
