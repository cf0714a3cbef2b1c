/**
 * What only the GitHub forge does, against the fake GitHub: request budgets (a changelog, polling a
 * run with ETags), workflow runs the way GitHub Actions has them, cherry-picks and reverts through the
 * git data API, and GitHub's release and CI-state rules.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitHubForge } from '../../activities/forge/github.js';
import { iso, person } from '../fakes/github-git.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { errorCode } from './contract.js';
import { forgeFor } from './github-fixture.js';

let fake: FakeGitHub;
let forge: GitHubForge;
beforeEach(async () => {
  fake = await startFakeGitHub();
  forge = forgeFor(fake);
});
afterEach(() => fake.close());

const requestsDuring = async <T>(work: () => Promise<T>): Promise<{ value: T; requests: number; counted: number; notModified: number }> => {
  const before = { ...fake.counters };
  const value = await work();
  return { value, requests: fake.counters.requests - before.requests, counted: fake.counters.counted - before.counted, notModified: fake.counters.notModified - before.notModified };
};

describe('request budgets (figures)', () => {
  it('builds the changelog of 500 commits and 120 merged pull requests in at most 10 requests', async () => {
    // Older history: 300 merged pull requests, last updated days ago.
    for (let i = 0; i < 300; i++) fake.mergedChange(`Old change ${i}`);
    const longAgo = iso(Date.now() - 3 * 86_400_000);
    for (const pr of fake.state.pulls.values()) pr.updatedAt = longAgo;
    await forge.createTag('v1', fake.commit('main', 'chore: base'), 'r');
    // 120 merged pull requests (a branch commit and a merge commit each) and 260 direct commits.
    for (let i = 0; i < 120; i++) fake.mergedChange(`Change ${i}`, { labels: i % 10 === 0 ? ['feature'] : [] });
    for (let i = 0; i < 260; i++) fake.commit('main', `fix: direct ${i}`);
    await forge.createTag('v2', 'main', 'r');

    const { value, requests } = await requestsDuring(async () => ({
      commits: await forge.commitsBetween('v1', 'v2', 500),
      merged: await forge.mergedChangesBetween('v1', 'v2', 500),
    }));
    console.log(`[figure] changelog of 500 commits and 120 merged PRs: ${requests} GitHub API requests (target <= 10)`);
    expect(value.commits).toMatchObject({ truncated: false });
    expect(value.commits.entries).toHaveLength(500);
    expect(value.commits.entries[0]?.subject).toBe('fix: direct 259');
    expect(value.merged.changes).toHaveLength(120);
    expect(value.merged.changes.filter((c) => c.labels.includes('feature'))).toHaveLength(12);
    expect(value.merged.changes.some((c) => c.title.startsWith('Old'))).toBe(false);
    expect(requests).toBeLessThanOrEqual(10);
    // The pull request listing stopped at the page that reached back past v1.
    expect(fake.http.log.filter((r) => r.path.endsWith('/pulls'))).toHaveLength(2);
  });

  it('polls a running workflow run 60 times for one rate-limited request: the rest are free 304s', async () => {
    fake.commit('main', 'feat: a');
    const run = await forge.triggerPipeline({ ref: 'main', workflow: 'deploy.yml', variables: { ENV: 'staging' } });
    fake.startRun(run.id);
    const { counted, notModified, requests } = await requestsDuring(async () => {
      for (let i = 0; i < 60; i++) expect((await forge.getPipeline(run.id)).status).toBe('running');
    });
    console.log(`[figure] 60 polls of a running run: ${requests} requests, ${counted} counted against the rate limit, ${notModified} answered 304 (target: 0 counted after the first)`);
    expect(counted).toBe(1);
    expect(notModified).toBe(59);
    const polls = fake.http.log.filter((r) => r.path.endsWith(`/actions/runs/${run.id}`)).slice(-59);
    expect(polls.every((r) => r.status === 304 && String(r.headers['if-none-match']).startsWith('W/"'))).toBe(true);
    // A change is seen at once: the ETag no longer matches.
    fake.finishRun(run.id, 'failed');
    const failed = await forge.getPipeline(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.failedJobs).toEqual([{ name: 'test', url: expect.stringContaining(`/actions/runs/${run.id}/job/`) }]);
  });
});

describe('workflow runs', () => {
  it('finds the dispatched run by listing when GitHub does not name it (GitHub Enterprise Server)', async () => {
    fake.state.dispatchReturnsRun = false;
    fake.commit('main', 'feat: a');
    const run = await forge.triggerPipeline({ ref: 'main', workflow: 'deploy.yml', variables: { TRIGGER_ID: 't-1' } });
    expect(fake.runInputs(run.id)).toEqual({ TRIGGER_ID: 't-1' });
    expect(run).toMatchObject({ ref: 'main', status: 'pending', sha: await forge.resolveRef('main') });
    const listing = fake.http.log.find((r) => r.path.endsWith('/actions/workflows/deploy.yml/runs'));
    expect(new URLSearchParams(listing?.query).get('created')).toMatch(/^>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await errorCode(forge.triggerPipeline({ ref: 'main' }))).toBe('CONFIG_INVALID');
  });

  it('re-runs failed jobs once, however often it is asked, and reports the newest run of a ref', async () => {
    fake.commit('main', 'feat: a');
    const run = await forge.triggerPipeline({ ref: 'main', workflow: 'e2e.yml' });
    fake.finishRun(run.id, 'failed');
    expect((await forge.retryPipeline(run.id)).status).toBe('pending');
    expect((await forge.retryPipeline(run.id)).id).toBe(run.id);
    expect(fake.http.log.filter((r) => r.path.endsWith('/rerun-failed-jobs'))).toHaveLength(1);
    const newer = await forge.triggerPipeline({ ref: 'main', workflow: 'deploy.yml' });
    expect((await forge.latestPipeline('main'))?.id).toBe(newer.id);
    expect(await forge.latestPipeline('no-runs-here')).toBeUndefined();
  });

  it('approves a pending deployment as the manual job, once', async () => {
    fake.commit('main', 'feat: a');
    const run = await forge.triggerPipeline({ ref: 'main', workflow: 'deploy.yml' });
    fake.waitForApproval(run.id, 'production');
    expect((await forge.getPipeline(run.id)).status).toBe('manual');
    expect(await errorCode(forge.playJob(run.id, 'staging'))).toBe('FORGE_NOT_FOUND');
    expect((await forge.playJob(run.id, 'production')).status).toBe('running');
    // Asked again (a retried activity): the run has moved on, nothing else is approved.
    expect((await forge.playJob(run.id, 'production')).status).toBe('running');
    expect(fake.http.log.filter((r) => r.method === 'POST' && r.path.endsWith('/pending_deployments'))).toHaveLength(1);
  });
});

describe('cherry-picks and reverts through the git data API', () => {
  it('builds a hotfix branch from picks that apply cleanly, and leaves nothing behind on a conflict', async () => {
    const base = fake.commit('main', 'feat: base', { 'a.txt': '1\n', 'b.txt': 'x\n' });
    await forge.createTag('v1', base, 'r');
    const fixB = fake.commit('main', 'fix: b', { 'b.txt': 'y\n' });
    const twoA = fake.commit('main', 'feat: a two', { 'a.txt': '2\n' });
    const threeA = fake.commit('main', 'feat: a three', { 'a.txt': '3\n', 'new/dir/c.txt': 'c\n' });

    const head = await forge.createHotfixBranch('hotfix/v1', 'v1', [fixB]);
    expect(await forge.readFile('b.txt', 'hotfix/v1')).toBe('y\n');
    expect(await forge.readFile('a.txt', 'hotfix/v1')).toBe('1\n');
    const { entries } = await forge.commitsBetween('v1', 'hotfix/v1', 10);
    expect(entries.map((e) => e.subject)).toEqual(['fix: b']);
    expect(fake.state.git.commits.get(head)?.message).toContain(`(cherry picked from commit ${fixB})`);
    const writes = fake.http.log.filter((r) => r.method !== 'GET').length;
    expect(await forge.createHotfixBranch('hotfix/v1', 'v1', [fixB])).toBe(head);
    expect(fake.http.log.filter((r) => r.method !== 'GET').length).toBe(writes);

    expect(await errorCode(forge.createHotfixBranch('hotfix/bad', 'v1', [threeA]))).toBe('CHERRY_PICK_CONFLICT');
    expect(await errorCode(forge.resolveRef('hotfix/bad'))).toBe('REF_NOT_FOUND');
    await forge.createHotfixBranch('hotfix/both', 'v1', [twoA, threeA]);
    expect(await forge.readFile('a.txt', 'hotfix/both')).toBe('3\n');
    expect(await forge.readFile('new/dir/c.txt', 'hotfix/both')).toBe('c\n');

    const merge = fake.mergedChange('A merged change').mergeCommit;
    expect(await errorCode(forge.createHotfixBranch('hotfix/merge', 'v1', [merge]))).toBe('CHERRY_PICK_CONFLICT');
  });

  it('reverts exactly the merged change, and refuses when the files changed since', async () => {
    const change = fake.mergedChange('Add the banner');
    fake.commit('main', 'feat: unrelated', { 'other.txt': 'o\n' });
    const revert = await forge.revertChangeRequest(change.number);
    expect(revert).toMatchObject({ title: 'Revert "Add the banner"', sourceBranch: `revert-${change.number}`, state: 'open' });
    expect(await forge.readFile(`changes/${change.number}.txt`, revert.sourceBranch)).toBeUndefined();
    expect(await forge.readFile('other.txt', revert.sourceBranch)).toBe('o\n');
    expect(await forge.readFile(`changes/${change.number}.txt`, 'main')).toBe('Add the banner\n');

    const edited = fake.mergedChange('Add the footer');
    fake.commit('main', 'feat: edit the footer', { [`changes/${edited.number}.txt`]: 'edited\n' });
    expect(await errorCode(forge.revertChangeRequest(edited.number))).toBe('FORGE_CONFLICT');
  });
});

describe('GitHub rules', () => {
  it('never lets GitHub create a missing tag for a release, and keeps latest where it was asked', async () => {
    expect(await errorCode(forge.publishRelease({ tag: 'v404', name: 'v404', notes: '', prerelease: false }))).toBe('REF_NOT_FOUND');
    expect(fake.state.git.refs.has('refs/tags/v404')).toBe(false);
    const sha = fake.commit('main', 'feat: a');
    await forge.createTag('v1', sha, 'r');
    await forge.createTag('v2', sha, 'r');
    await forge.publishRelease({ tag: 'v1', name: 'v1', notes: 'one', prerelease: false });
    await forge.publishRelease({ tag: 'v2', name: 'v2', notes: 'two', prerelease: false, latest: false });
    expect((await forge.latestRelease())?.tag).toBe('v1');
  });

  it('folds check runs and commit statuses, and reads "no statuses" as none (GitHub says pending)', async () => {
    const only = fake.commit('main', 'feat: statuses only');
    expect(await forge.commitState(only)).toBe('none');
    fake.setCommitState(only, 'success', 'status');
    expect(await forge.commitState(only)).toBe('success');
    const mixed = fake.commit('main', 'feat: mixed');
    fake.setCommitState(mixed, 'success', 'check');
    fake.setCommitState(mixed, 'failure', 'status');
    expect(await forge.commitState(mixed)).toBe('failure');
  });

  it('treats a write whose answer was lost (timed out, then retried) as done, not as a conflict', async () => {
    // The fake holds the answer past the client's timeout and then does the write anyway.
    const slow = forgeFor(fake, { requestTimeoutMs: 200, tuning: { retryBaseDelayMs: 500 } });
    await slow.createBranch('topic', 'main');
    fake.http.inject({ delayMs: 350, match: (r) => r.method === 'PUT' && r.path.endsWith('/contents/VERSION') });
    const written = await slow.commitFile({ branch: 'topic', path: 'VERSION', content: '2\n', message: 'Bump' });
    expect(written).toEqual({ sha: await slow.resolveRef('topic'), changed: true });
    const { change } = await slow.openChangeRequest({ sourceBranch: 'topic', targetBranch: 'main', title: 'Bump', body: '' });
    fake.http.inject({ delayMs: 350, match: (r) => r.method === 'PUT' && r.path.endsWith('/merge') });
    const merged = await slow.mergeWhenGreen(change.number);
    expect(merged).toEqual({ state: 'merged', mergeCommit: await slow.resolveRef('main') });
    // The first attempt merged (its answer lost); the retry was told "not mergeable".
    const [first, ...retries] = fake.http.log.filter((r) => r.path.endsWith('/merge')).map((r) => r.status);
    expect(first).toBe(200);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((status) => status === 405)).toBe(true);
  });

  it('merges a request waiting for green when it is next looked at, but never one being closed', async () => {
    const open = async (branch: string) => {
      await forge.createBranch(branch, 'main');
      const { sha } = await forge.commitFile({ branch, path: `${branch}.txt`, content: branch, message: branch });
      fake.setCommitState(sha, 'pending');
      const { change } = await forge.openChangeRequest({ sourceBranch: branch, targetBranch: 'main', title: branch, body: '' });
      expect((await forge.mergeWhenGreen(change.number)).state).toBe('scheduled');
      fake.setCommitState(sha, 'success');
      return change.number;
    };
    const waiting = await open('waiting');
    expect((await forge.findOpenChangeRequest('waiting'))).toBeUndefined();
    expect((await forge.getChangeRequest(waiting)).state).toBe('merged');
    const closing = await open('closing');
    await forge.closeChangeRequest(closing);
    expect((await forge.getChangeRequest(closing)).state).toBe('closed');
  });

  it("compares in one request of one commit, and reads GitHub's 404 for unrelated histories as diverged", async () => {
    const base = fake.commit('main', 'feat: a');
    const head = fake.commit('main', 'feat: b');
    const { value, requests } = await requestsDuring(() => forge.compareCommits(base, head));
    expect(value).toBe('ahead');
    expect(requests).toBe(1);
    expect(fake.http.log.at(-1)?.query).toContain('per_page=1');
    const orphan = fake.state.git.commitOn('imported', 'an unrelated history', { 'other.txt': 'x\n' }, person('octocat'));
    const raw = await fetch(`${fake.url}/repos/acme/api/compare/${orphan}...${head}`, { headers: { authorization: `Bearer ${fake.token}` } });
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({ message: `No common ancestor between ${orphan} and ${head}.` });
    expect(await forge.compareCommits(orphan, head)).toBe('diverged');
    expect(await errorCode(forge.compareCommits(base, 'f'.repeat(40)))).toBe('REF_NOT_FOUND');
  });

  it('spaces writes as GitHub asks (one a second by default; 300 ms here)', async () => {
    const spaced = forgeFor(fake, { tuning: { writeSpacingMs: 300 } });
    const sha = fake.commit('main', 'feat: a');
    const started = Date.now();
    for (const name of ['b1', 'b2', 'b3']) await spaced.createBranch(name, sha);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });
});

describe('the fake GitHub itself', () => {
  it('pages with GitHub\'s Link header and answers a bad token like GitHub', async () => {
    for (let i = 0; i < 5; i++) fake.commit('main', `c${i}`);
    const get = (path: string, auth = `Bearer ${fake.token}`) => fetch(`${fake.url}${path}`, { headers: { authorization: auth } });
    const page = await get('/repos/acme/api/commits?per_page=2&page=2');
    const at = (n: number) => `<${fake.url}/repos/acme/api/commits?per_page=2&page=${n}>`;
    expect(page.headers.get('link')).toBe(`${at(1)}; rel="prev", ${at(3)}; rel="next", ${at(3)}; rel="last", ${at(1)}; rel="first"`);
    expect(page.headers.get('x-ratelimit-remaining')).toBe('4999');
    expect(await page.json()).toHaveLength(2);
    const denied = await get('/repos/acme/api/commits', 'token nope');
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ message: 'Bad credentials' });
  });
});
