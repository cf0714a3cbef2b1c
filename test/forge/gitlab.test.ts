/**
 * The GitLab forge against the fake GitLab on loopback: the forge contract, then what is GitLab's own
 * (faults and retries, rate limits, timeouts, the token never shown, manual jobs) and request counts.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { GitLabForge } from '../../activities/forge/gitlab.js';
import { TrainyardError } from '../../domain/errors.js';
import { startFakeGitLab, rateLimitFault, type FakeGitLab, type FakeGitLabOptions } from '../fakes/gitlab.js';
import { errorCode, forgeContract } from './contract.js';

function forgeFor(gl: FakeGitLab, overrides: Partial<ConstructorParameters<typeof GitLabForge>[0]> = {}): GitLabForge {
  return new GitLabForge({ project: gl.projectPath, url: gl.url, token: gl.token, defaultBranch: 'main', requestTimeoutMs: 2_000, http: { backoffMs: 20 }, ...overrides });
}

forgeContract('GitLab', async () => {
  const gl = await startFakeGitLab();
  return {
    forge: forgeFor(gl),
    commit: (branch, message, files) => gl.commit(branch, message, files),
    setCommitState: (sha, state) => gl.setCommitState(sha, state),
    mergedChange: (title, opts) => gl.mergedChange(title, opts),
    finishPipeline: (id, status) => gl.finishPipeline(id, status),
    pipelineVariables: (id) => gl.pipelineVariables(id),
    comments: (number) => gl.notes(number),
    close: () => gl.close(),
  };
});

describe('GitLabForge', () => {
  let gl: FakeGitLab;
  const start = async (options?: FakeGitLabOptions) => {
    gl = await startFakeGitLab(options);
    return gl;
  };
  afterEach(async () => {
    await gl?.close();
  });

  /** The error a call fails with (it must fail). */
  async function failure(promise: Promise<unknown>): Promise<TrainyardError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrainyardError);
    return err as TrainyardError;
  }

  describe('faults', () => {
    it('retries 500 and 502 on reads, then succeeds', async () => {
      await start();
      const forge = forgeFor(gl);
      const head = await gl.commit('main', 'feat: a');
      gl.http.inject({ status: 500, match: (r) => r.path.includes('/repository/commits/') });
      gl.http.inject({ status: 502, match: (r) => r.path.includes('/repository/commits/') });
      expect(await forge.resolveRef('main')).toBe(head);
      expect(gl.http.log.map((r) => r.status)).toEqual([500, 502, 200]);
    });

    it('gives up after three 503s with FORGE_UNAVAILABLE', async () => {
      await start();
      gl.http.inject({ status: 503, times: 5 });
      const err = await failure(forgeFor(gl).resolveRef('main'));
      expect(err.code).toBe('FORGE_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      expect(gl.http.log).toHaveLength(3);
    });

    it('does not repeat a POST that got a 500 (GitLab may have done it)', async () => {
      await start();
      await gl.commit('main', 'feat: a');
      gl.http.inject({ status: 500, match: (r) => r.method === 'POST' });
      expect(await errorCode(forgeFor(gl).triggerPipeline({ ref: 'main' }))).toBe('FORGE_UNAVAILABLE');
      expect(gl.http.log.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('retries a dropped connection on a read', async () => {
      await start();
      const head = await gl.commit('main', 'feat: a');
      gl.http.inject({ reset: true });
      expect(await forgeFor(gl).resolveRef('main')).toBe(head);
    });

    it('waits out a short Retry-After on 429, then succeeds', async () => {
      await start();
      const head = await gl.commit('main', 'feat: a');
      gl.http.inject(rateLimitFault(1));
      const started = Date.now();
      expect(await forgeFor(gl).resolveRef('main')).toBe(head);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(gl.http.log.map((r) => r.status)).toEqual([429, 200]);
    });

    it('hands a long Retry-After back as FORGE_RATE_LIMITED with retryAfterMs, without waiting', async () => {
      await start();
      gl.http.inject(rateLimitFault(120));
      const started = Date.now();
      const err = await failure(forgeFor(gl).resolveRef('main'));
      // Not waited out in-process (that would take two minutes): Temporal retries at the reset.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(err.code).toBe('FORGE_RATE_LIMITED');
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(119_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(120_000);
    });

    it('meets the fake\'s own throttle (RateLimit-Reset) as FORGE_RATE_LIMITED', async () => {
      await start({ rateLimit: { limit: 2, windowMs: 60_000 } });
      const forge = forgeFor(gl);
      await forge.resolveRef('main');
      await forge.resolveRef('main');
      const err = await failure(forge.resolveRef('main'));
      expect(err.code).toBe('FORGE_RATE_LIMITED');
      expect(err.retryAfterMs).toBeGreaterThan(50_000);
    });

    it('a response slower than the timeout is FORGE_UNAVAILABLE', async () => {
      await start();
      gl.http.inject({ delayMs: 8_000 });
      const started = Date.now();
      const err = await failure(forgeFor(gl, { requestTimeoutMs: 300 }).resolveRef('main'));
      expect(err.code).toBe('FORGE_UNAVAILABLE');
      // It gave up at its timeout instead of waiting for the answer.
      expect(Date.now() - started).toBeLessThan(6_000);
    });

    it('a body that is not JSON is FORGE_UNAVAILABLE', async () => {
      await start();
      gl.http.inject({ malformed: true });
      expect(await errorCode(forgeFor(gl).resolveRef('main'))).toBe('FORGE_UNAVAILABLE');
    });

    it('an unknown project is FORGE_NOT_FOUND, also where a 404 usually means "no such object"', async () => {
      await start();
      const forge = forgeFor(gl, { project: 'group/nope' });
      expect(await errorCode(forge.resolveRef('main'))).toBe('FORGE_NOT_FOUND');
      expect(await errorCode(forge.readFile('VERSION', 'main'))).toBe('FORGE_NOT_FOUND');
      expect(await errorCode(forge.tagCommit('v1'))).toBe('FORGE_NOT_FOUND');
      // And the project by id works like its path.
      expect(await forgeFor(gl, { project: gl.projectId }).resolveRef('main')).toMatch(/^[0-9a-f]{40}$/);
    });
  });

  describe('the token', () => {
    it('is sent as PRIVATE-TOKEN and never shown: a 401 is FORGE_AUTH without it anywhere', async () => {
      await start();
      const wrong = 'glpat-WRONG-SECRET-TOKEN-7d2a';
      const err = await failure(forgeFor(gl, { token: wrong }).resolveRef('main'));
      expect(err.code).toBe('FORGE_AUTH');
      expect(err.retryable).toBe(false);
      expect(gl.http.log[0]?.headers['private-token']).toBe(wrong);
      const everything = [err.message, err.hint, err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 10 }), err.describe()].join('\n');
      expect(everything).not.toContain(wrong);
      expect(everything).toContain('401');
    });

    it('is cut out of whatever GitLab says back', async () => {
      await start();
      gl.http.inject({ status: 400, body: { message: `token ${gl.token} is not allowed here` } });
      const err = await failure(forgeFor(gl).resolveRef('main'));
      expect(err.code).toBe('FORGE_INVALID');
      expect(`${err.message} ${inspect(err, { depth: 10 })}`).not.toContain(gl.token);
      expect(err.message).toContain('[redacted]');
    });

    it('a forge URL with credentials in it is refused without quoting them', async () => {
      await start();
      const err = await failure(Promise.resolve().then(() => forgeFor(gl, { url: gl.url.replace('http://', 'http://root:hunter2-secret@') })));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(`${err.message} ${err.hint}`).not.toContain('hunter2-secret');
    });

    it('does not show in the forge object itself', async () => {
      await start();
      const forge = forgeFor(gl);
      expect(`${JSON.stringify(forge)} ${inspect(forge, { depth: 6 })}`).not.toContain(gl.token);
    });
  });

  describe('pipelines', () => {
    it('plays the manual job of a pipeline once, and says so when there is no such job', async () => {
      await start();
      await gl.commit('main', 'feat: a');
      const forge = forgeFor(gl);
      const run = await forge.triggerPipeline({ ref: 'main', variables: { ENV: 'production' } });
      await gl.finishPipeline(run.id, 'success');
      const played = await forge.playJob(run.id, 'promote-production');
      expect(played).toMatchObject({ id: run.id, status: 'running' });
      const job = gl.state.jobs.find((j) => String(j.pipelineId) === run.id && j.name === 'promote-production');
      expect(job?.status).toBe('pending');
      // A retried activity does not play it twice (GitLab would answer 400 "Unplayable Job").
      const posts = () => gl.http.log.filter((r) => r.method === 'POST' && r.path.endsWith('/play')).length;
      expect(posts()).toBe(1);
      await forge.playJob(run.id, 'promote-production');
      expect(posts()).toBe(1);
      expect(await errorCode(forge.playJob(run.id, 'promote-moon'))).toBe('FORGE_NOT_FOUND');
    });

    it('lists the failed jobs of a failed pipeline with their links', async () => {
      await start();
      await gl.commit('main', 'feat: a');
      const forge = forgeFor(gl);
      const run = await forge.triggerPipeline({ ref: 'main' });
      await gl.finishPipeline(run.id, 'failed');
      const failed = await forge.getPipeline(run.id);
      expect(failed.failedJobs).toEqual([{ name: 'test', url: expect.stringMatching(/\/group\/app\/-\/jobs\/\d+$/) }]);
      expect(await forge.latestPipeline('main')).toMatchObject({ id: run.id, status: 'failed' });
      expect(await forge.latestPipeline('no-pipelines-here')).toBeUndefined();
    });
  });

  describe('comparing commits (the merge-base API)', () => {
    it('answers from one merge-base request, as GitLab answers it: unrelated histories are diverged, unknown commits REF_NOT_FOUND', async () => {
      await start();
      const forge = forgeFor(gl);
      const base = await gl.commit('main', 'feat: a');
      const head = await gl.commit('main', 'feat: b');
      gl.http.log.length = 0;
      expect(await forge.compareCommits(base, head)).toBe('ahead');
      expect(gl.http.log.map((r) => r.path.split('/').slice(5).join('/'))).toEqual(['repository/merge_base']);
      expect(gl.http.log[0]?.query).toContain(`refs%5B%5D=${base}`);
      const orphan = gl.state.repo.addCommit([], 'an unrelated history', new Map([['other.txt', 'x\n']]), 'someone');
      const get = (query: string) => fetch(`${gl.url}/api/v4/projects/${encodeURIComponent(gl.projectPath)}/repository/merge_base?${query}`, { headers: { 'private-token': gl.token } });
      const none = await get(`refs[]=${orphan}&refs[]=${head}`);
      expect([none.status, await none.json()]).toEqual([404, { message: '404 Merge Base Not Found' }]);
      expect(await forge.compareCommits(orphan, head)).toBe('diverged');
      const unknown = await get(`refs[]=${base}&refs[]=nope`);
      expect([unknown.status, await unknown.json()]).toEqual([400, { message: 'Could not find ref: nope' }]);
      const one = await get(`refs[]=${base}`);
      expect([one.status, await one.json()]).toEqual([400, { message: 'Provide at least 2 refs' }]);
      expect(await errorCode(forge.compareCommits(base, 'f'.repeat(40)))).toBe('REF_NOT_FOUND');
    });
  });

  describe('figures', () => {
    it('builds the changelog of 500 commits and 120 merge requests in at most 10 requests', async () => {
      await start();
      const forge = forgeFor(gl);
      for (let i = 0; i < 5; i++) await gl.mergedChange(`Before the release ${i}`);
      await forge.createTag('v1', 'main', 'r');
      const merged = [];
      for (let i = 0; i < 120; i++) merged.push(await gl.mergedChange(`Change ${i}`, { labels: i % 2 ? ['feature'] : [] }));
      for (let i = 0; i < 260; i++) await gl.commit('main', `fix: direct ${i}`);
      await forge.createTag('v2', 'main', 'r');
      gl.http.log.length = 0;
      const { entries, truncated } = await forge.commitsBetween('v1', 'v2', 1000);
      const changes = await forge.mergedChangesBetween('v1', 'v2', 500);
      const requests = gl.http.log.length;
      console.log(`[figure] GitLab changelog of ${entries.length} commits and ${changes.changes.length} merge requests: ${requests} API requests (${gl.http.log.map((r) => r.path.split('/').slice(5).join('/')).join(', ')})`);
      expect(entries).toHaveLength(500);
      expect(truncated).toBe(false);
      expect(changes.changes.map((c) => c.number).sort((a, b) => a - b)).toEqual(merged.map((m) => m.number).sort((a, b) => a - b));
      expect(changes.truncated).toBe(false);
      expect(entries.filter((e) => e.pr !== undefined)).toHaveLength(120);
      expect(requests).toBeLessThanOrEqual(10);
    });

    it('polls a running pipeline at one request per look: 4 a minute at one look every 15 s', async () => {
      await start();
      await gl.commit('main', 'feat: a');
      const forge = forgeFor(gl);
      const run = await forge.triggerPipeline({ ref: 'main' });
      gl.state.setPipelineStatus(gl.state.pipelines.find((p) => String(p.id) === run.id)!, 'running');
      gl.http.log.length = 0;
      const looksPerMinute = 60 / 15;
      for (let i = 0; i < looksPerMinute; i++) expect((await forge.getPipeline(run.id)).status).toBe('running');
      const perMinute = gl.http.log.length;
      console.log(`[figure] GitLab polling a running pipeline every 15 s: ${perMinute} requests/minute (no conditional requests on GitLab)`);
      expect(perMinute).toBe(4);
      expect(gl.http.log.every((r) => !r.headers['if-none-match'])).toBe(true);
    });
  });
});
