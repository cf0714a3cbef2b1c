/**
 * GitLab-specific behaviour of the GitLab forge beyond the contract, seen from the fake GitLab's side:
 * what it stores (pre-release marker, released_at), how few requests a retry costs, auto-merge,
 * hotfix branches built on a work branch, reverts, pagination.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitLabForge } from '../../activities/forge/gitlab.js';
import { PRERELEASE_MARKER } from '../../activities/forge/gitlab-map.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import { errorCode, eventually } from './contract.js';

let gl: FakeGitLab;
let forge: GitLabForge;

beforeEach(async () => {
  gl = await startFakeGitLab();
  forge = new GitLabForge({ project: gl.projectPath, url: gl.url, token: gl.token, defaultBranch: 'main', requestTimeoutMs: 2_000 });
});
afterEach(() => gl.close());

const writes = () => gl.http.log.filter((r) => r.method !== 'GET');

describe('GitLab releases', () => {
  it('stores a pre-release as a marker GitLab keeps, and reads it back without it', async () => {
    const old = await gl.commit('main', 'feat: old');
    await forge.createTag('v1', old, 'r');
    await forge.publishRelease({ tag: 'v1', name: 'v1', notes: 'stable', prerelease: false });
    const sha = await gl.commit('main', 'feat: new');
    await forge.createTag('v2', sha, 'r');
    await forge.publishRelease({ tag: 'v2', name: 'v2', notes: 'try me', prerelease: true });
    const stored = gl.state.releases.get('v2');
    expect(stored).toMatchObject({ name: 'v2 (pre-release)', description: `${PRERELEASE_MARKER}\ntry me` });
    // Not marked latest: released_at stays the tagged commit's date rather than now.
    expect(stored?.releasedAt).toBe(gl.state.repo.get(sha).date);
    expect(await forge.getRelease('v2')).toMatchObject({ name: 'v2', notes: 'try me', prerelease: true, url: `${gl.url}/group/app/-/releases/v2` });
    expect(await forge.latestRelease()).toMatchObject({ tag: 'v1' });
    // Promoted to a release: latest by default, so released_at moves to now.
    await forge.publishRelease({ tag: 'v2', name: 'v2', notes: 'final', prerelease: false });
    expect(gl.state.releases.get('v2')).toMatchObject({ name: 'v2', description: 'final' });
    expect(await forge.latestRelease()).toMatchObject({ tag: 'v2', prerelease: false });
  });

  it('a name that merely ends like a pre-release is not one', async () => {
    const sha = await gl.commit('main', 'feat: a');
    await forge.createTag('v3', sha, 'r');
    await forge.publishRelease({ tag: 'v3', name: 'v3 (pre-release)', notes: 'n', prerelease: false });
    expect(await forge.getRelease('v3')).toMatchObject({ name: 'v3 (pre-release)', prerelease: false });
  });
});

describe('GitLab tags and branches', () => {
  it('pages through tags 100 at a time with GitLab\'s headers', async () => {
    const sha = await gl.commit('main', 'feat: a');
    for (let i = 0; i < 130; i++) gl.state.repo.tags.set(`api/v${i}`, { name: `api/v${i}`, sha, message: '', createdAt: gl.state.now() });
    gl.state.repo.tags.set('web/v1', { name: 'web/v1', sha, message: '', createdAt: gl.state.now() });
    gl.http.log.length = 0;
    expect(await forge.listTags('api/')).toHaveLength(130);
    expect(gl.http.log.map((r) => new URLSearchParams(r.query).get('page') ?? '1')).toEqual(['1', '2']);
  });

  it('a retried commit of the same content costs one read and no write', async () => {
    await forge.createBranch('bump', 'main');
    const first = await forge.commitFile({ branch: 'bump', path: 'deploy/VERSION', content: '2\n', message: 'bump' });
    gl.http.log.length = 0;
    expect(await forge.commitFile({ branch: 'bump', path: 'deploy/VERSION', content: '2\n', message: 'bump' })).toEqual({ sha: first.sha, changed: false });
    expect(gl.http.log.map((r) => r.method)).toEqual(['GET']);
    expect(await errorCode(forge.commitFile({ branch: 'no-branch', path: 'x', content: 'x', message: 'x' }))).toBe('REF_NOT_FOUND');
    expect(await errorCode(forge.createBranch('other', 'no-such-ref'))).toBe('REF_NOT_FOUND');
  });
});

describe('GitLab history', () => {
  it('an unknown end of a range is REF_NOT_FOUND, a malformed one INVALID_REF', async () => {
    expect(await errorCode(forge.commitsBetween('v404', 'main', 10))).toBe('REF_NOT_FOUND');
    expect(await errorCode(forge.commitsBetween(undefined, 'nope', 10))).toBe('REF_NOT_FOUND');
    expect(await errorCode(forge.mergedChangesBetween('a..b', 'main', 10))).toBe('INVALID_REF');
    expect(gl.http.log.some((r) => r.query.includes('a..b'))).toBe(false);
  });

  it('without a base, lists the history of the head and the merge requests in it', async () => {
    const one = await gl.mergedChange('First feature', { author: 'ada' });
    const { entries } = await forge.commitsBetween(undefined, 'main', 100);
    expect(entries.map((e) => e.sha)).toContain(one.mergeCommit);
    expect(entries.find((e) => e.sha === one.mergeCommit)).toMatchObject({ pr: one.number });
    const { changes } = await forge.mergedChangesBetween(undefined, 'main', 100);
    expect(changes).toEqual([expect.objectContaining({ number: one.number, author: 'ada', title: 'First feature', mergeCommit: one.mergeCommit })]);
  });
});

describe('GitLab merge requests', () => {
  it('schedules an auto-merge while the head pipeline runs; GitLab merges when it succeeds', async () => {
    await forge.createBranch('ready', 'main');
    const { sha } = await forge.commitFile({ branch: 'ready', path: 'r.txt', content: 'r', message: 'ready' });
    const { change } = await forge.openChangeRequest({ sourceBranch: 'ready', targetBranch: 'main', title: 'Ready', body: '', labels: ['release'] });
    await gl.setCommitState(sha, 'pending');
    expect(await forge.mergeWhenGreen(change.number)).toEqual({ state: 'scheduled' });
    expect(gl.state.mergeRequests[0]?.autoMerge).toBe(true);
    // Asked again (a retried activity): still scheduled, without a second merge call.
    expect(await forge.mergeWhenGreen(change.number)).toEqual({ state: 'scheduled' });
    expect(writes().filter((r) => r.path.endsWith('/merge'))).toHaveLength(1);
    await gl.setCommitState(sha, 'success');
    const merged = await eventually(async () => {
      const c = await forge.getChangeRequest(change.number);
      return c.state === 'merged' ? c : undefined;
    });
    expect(await forge.mergeWhenGreen(change.number)).toEqual({ state: 'merged', mergeCommit: merged.mergeCommit });
  });

  it('merges at once when the head is green, and reports a conflict as FORGE_CONFLICT', async () => {
    await gl.commit('main', 'base', { 'shared.txt': 'base\n' });
    await forge.createBranch('green', 'main');
    const { sha } = await forge.commitFile({ branch: 'green', path: 'shared.txt', content: 'green\n', message: 'green' });
    await gl.commit('main', 'meanwhile', { 'shared.txt': 'main\n' });
    const { change } = await forge.openChangeRequest({ sourceBranch: 'green', targetBranch: 'main', title: 'Green', body: '' });
    await gl.setCommitState(sha, 'success');
    expect(await errorCode(forge.mergeWhenGreen(change.number))).toBe('FORGE_CONFLICT');
    await forge.createBranch('clean', 'main');
    const clean = await forge.commitFile({ branch: 'clean', path: 'clean.txt', content: 'c', message: 'clean' });
    const second = await forge.openChangeRequest({ sourceBranch: 'clean', targetBranch: 'main', title: 'Clean', body: '' });
    await gl.setCommitState(clean.sha, 'success');
    const result = await forge.mergeWhenGreen(second.change.number);
    expect(result.state).toBe('merged');
    expect(await forge.resolveRef('main')).toBe(result.mergeCommit);
  });

  it('reverts through branch revert-<iid>, and a second call reuses the open request', async () => {
    const merged = await gl.mergedChange('Break something');
    const revert = await forge.revertChangeRequest(merged.number);
    expect(revert).toMatchObject({ sourceBranch: `revert-${merged.number}`, title: 'Revert "Break something"', state: 'open' });
    const files = gl.state.repo.get(revert.headSha).files;
    expect([...files.keys()].some((p) => p.startsWith('changes/'))).toBe(false);
    gl.http.log.length = 0;
    expect((await forge.revertChangeRequest(merged.number)).number).toBe(revert.number);
    expect(writes()).toHaveLength(0);
    expect(await errorCode(forge.revertChangeRequest(revert.number))).toBe('FORGE_CONFLICT');
  });
});

describe('GitLab hotfix branches', () => {
  it('cherry-picks onto a work branch and creates the hotfix branch only when all picks applied', async () => {
    const base = await gl.commit('main', 'base', { 'a.txt': '1\n', 'b.txt': '1\n' });
    await forge.createTag('v1', base, 'r');
    const fixA = await gl.commit('main', 'fix a', { 'a.txt': '2\n' });
    const fixB = await gl.commit('main', 'fix b', { 'b.txt': '2\n' });
    const head = await forge.createHotfixBranch('hotfix/v1.1', 'v1', [fixA, fixB]);
    expect(await forge.readFile('a.txt', 'hotfix/v1.1')).toBe('2\n');
    expect(await forge.readFile('b.txt', 'hotfix/v1.1')).toBe('2\n');
    expect(gl.state.repo.get(head).message).toContain(`(cherry picked from commit ${fixB})`);
    expect([...gl.state.repo.branches.keys()].filter((b) => b.includes('trainyard-wip'))).toEqual([]);
    gl.http.log.length = 0;
    expect(await forge.createHotfixBranch('hotfix/v1.1', 'v1', [fixA, fixB])).toBe(head);
    expect(gl.http.log).toHaveLength(1);
  });

  it('a conflicting pick is CHERRY_PICK_CONFLICT and leaves no branch behind', async () => {
    const base = await gl.commit('main', 'base', { 'a.txt': '1\n' });
    await gl.commit('main', 'rewrite a', { 'a.txt': 'rewritten\n' });
    const fix = await gl.commit('main', 'fix a', { 'a.txt': 'fixed\n' });
    expect(await errorCode(forge.createHotfixBranch('hotfix/x', base, [fix]))).toBe('CHERRY_PICK_CONFLICT');
    expect([...gl.state.repo.branches.keys()].filter((b) => b.startsWith('hotfix/'))).toEqual([]);
  });
});
