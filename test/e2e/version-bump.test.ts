/**
 * One version bump end to end on the real dev server with the real bump activities: the component
 * is a local git repository (green commits recorded as its CI states), the consumer the fake GitLab
 * on loopback. The test plays the consumer's CI: each new head of the bump branch gets a green
 * pipeline. The bump opens "Update Gitaly version" with the new sha in GITALY_SERVER_VERSION, sees
 * the pipeline pass, and merges. No token appears in the history or the notifications.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitLabForge } from '../../activities/forge/gitlab.js';
import { LocalGitForge, recordCommitState } from '../../activities/forge/local-git.js';
import { createVersionBumpActivities, type BumpNote } from '../../activities/version-bump.js';
import { bumpId, type BumpPlan, type BumpStatus } from '../../domain/version-bump.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import { bundleWorker, devServerEnv, type DevServerEnv } from '../helpers/temporal.js';

const TOKEN = 'glpat-FAKE-BUMP-SECRET-0b7d5c';
let env: DevServerEnv;
let gitlab: FakeGitLab;
let dir: string;

beforeAll(async () => {
  env = await devServerEnv();
  gitlab = await startFakeGitLab({ token: TOKEN });
  dir = mkdtempSync(join(tmpdir(), 'trainyard-bump-'));
});
afterAll(async () => {
  await gitlab?.close();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function componentRepo(): { path: string; commits: string[] } {
  const path = join(dir, 'gitaly');
  mkdirSync(path);
  const git = (...args: string[]) => execFileSync('git', ['-C', path, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  const commits: string[] = [];
  for (const subject of ['feat: first', 'fix: packfile cache', 'feat: faster fetch', 'wip: red']) {
    writeFileSync(join(path, 'README'), `${subject}\n`);
    git('add', 'README');
    git('commit', '-q', '-m', subject);
    commits.push(git('rev-parse', 'HEAD'));
  }
  return { path, commits };
}

describe('versionBump end to end', () => {
  it('opens the bump merge request on GitLab with the new version and merges it when its pipeline passes', async () => {
    const { path, commits } = componentRepo();
    const [first, , green, red] = commits as [string, string, string, string];
    await recordCommitState(path, first, 'success');
    await recordCommitState(path, green, 'success');
    await recordCommitState(path, red, 'failure');
    await gitlab.commit('main', 'pin gitaly', { GITALY_SERVER_VERSION: `${first}\n` });

    const notes: BumpNote[] = [];
    const consumer = new GitLabForge({ project: gitlab.projectPath, url: gitlab.url, token: TOKEN, defaultBranch: 'main', requestTimeoutMs: 5_000 });
    const component = new LocalGitForge(path, 'main');
    const activities = createVersionBumpActivities({ forgeFor: (name) => (name === 'gitaly' ? component : consumer), notify: async (n) => void notes.push(n) });
    const plan: BumpPlan = {
      component: 'gitaly', consumer: 'gitlab', versionFile: 'GITALY_SERVER_VERSION', branch: 'trainyard/bump-gitaly', title: 'Update Gitaly version',
      labels: ['group::gitaly'], blockedLabel: 'trainyard::blocked', staleLabel: 'trainyard::stale', lookback: 10, commitLimit: 10,
      compareUrl: 'https://gitlab.example/gitaly/-/compare/{from}...{to}', pollMinutes: 0.01, masterPollMinutes: 0.01, greenCheckMinutes: 60, staleHours: 24,
    };
    // The consumer's CI: every new head of an open merge request gets a green pipeline.
    const ci = setInterval(() => {
      for (const mr of gitlab.state.mergeRequests) {
        const head = gitlab.state.headOf(mr);
        if (mr.state === 'opened' && !gitlab.state.latestPipelineFor(head)) void gitlab.setCommitState(head, 'success');
      }
    }, 100);
    const worker = await bundleWorker(env, 'bump-e2e', activities);
    try {
      const result: BumpStatus = await worker.runUntil(async () => {
        const handle = await env.client.workflow.start('versionBump', { taskQueue: 'bump-e2e', workflowId: bumpId('gitaly', 'gitlab'), args: [{ plan, startedBy: 'test' }] });
        const status: BumpStatus = await handle.result();
        expect(JSON.stringify((await handle.fetchHistory()).events)).not.toContain(TOKEN);
        return status;
      });
      expect(result.stage).toBe('merged');
      expect(result.target).toBe(green);
      const mrs = gitlab.state.mergeRequests;
      expect(mrs).toHaveLength(1);
      expect(mrs[0]).toMatchObject({ title: 'Update Gitaly version', sourceBranch: 'trainyard/bump-gitaly', state: 'merged' });
      expect(mrs[0]!.description).toContain(`https://gitlab.example/gitaly/-/compare/${first}...${green}`);
      expect(mrs[0]!.description).toContain('fix: packfile cache');
      expect(mrs[0]!.description).not.toContain('wip: red');
      const main = gitlab.state.repo.get(gitlab.state.repo.branches.get('main')!);
      expect(main.files.get('GITALY_SERVER_VERSION')).toBe(`${green}\n`);
      expect(notes.map((n) => n.event)).toEqual(['opened', 'merged']);
      expect(JSON.stringify(notes)).not.toContain(TOKEN);
    } finally {
      clearInterval(ci);
    }
  });
});
