/**
 * The local git forge against the forge contract, on real repositories in temporary folders, and
 * what only the local forge does: records in the git directory, a checked-out branch that follows
 * the forge's writes, local CI runs as detached processes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PIPELINE_DONE } from '../../activities/forge/forge.js';
import { LocalGitForge, recordCommitState, type LocalCiConfig } from '../../activities/forge/local-git.js';
import { errorCode, eventually, forgeContract, type ForgeFixture } from './contract.js';

/** A CI command: writes its environment and cwd, then waits for `<dir>/<id>.result` and exits with it. */
const CI_SCRIPT = `
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
const dir = process.argv[2];
const id = process.env.TRAINYARD_PIPELINE_ID;
const seen = { env: process.env, cwd: process.cwd(), pid: process.pid, readme: existsSync('README.md') ? readFileSync('README.md', 'utf8') : null };
writeFileSync(dir + '/' + id + '.env.tmp', JSON.stringify(seen));
renameSync(dir + '/' + id + '.env.tmp', dir + '/' + id + '.env.json');
setInterval(() => {
  if (!existsSync(dir)) process.exit(2);
  const result = dir + '/' + id + '.result';
  if (existsSync(result)) process.exit(Number(readFileSync(result, 'utf8')));
}, 20);
`;

interface Seen {
  env: Record<string, string>;
  cwd: string;
  pid: number;
  readme: string | null;
}

export interface LocalFixture extends ForgeFixture {
  forge: LocalGitForge;
  dir: string;
  repo: string;
  git(...args: string[]): string;
  seen(id: string): Promise<Seen>;
}

/** A bare repository (a forge's copy has no work tree) with one commit on main. */
export function createLocalFixture(options: { ci?: Partial<LocalCiConfig> | false; bare?: boolean } = {}): LocalFixture {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-forge-'));
  const repo = join(dir, options.bare === false ? 'work' : 'repo.git');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'Dev Eloper', GIT_AUTHOR_EMAIL: 'dev@example.invalid', GIT_COMMITTER_NAME: 'Dev Eloper', GIT_COMMITTER_EMAIL: 'dev@example.invalid' };
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { env, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '--quiet', ...(options.bare === false ? [] : ['--bare']), '--initial-branch=main', repo]);
  writeFileSync(join(dir, 'ci.mjs'), CI_SCRIPT);
  const ciCommand = [process.execPath, join(dir, 'ci.mjs'), dir];
  const ci = options.ci === false ? undefined : { command: ciCommand, jobs: { 'promote-production': ciCommand }, ...options.ci };
  const forge = new LocalGitForge(repo, 'main', ci);

  /**
   * Plumbing: a tree from the parent's with the files replaced, a commit, a compare-and-swap of the
   * ref. Git resolves the parent by name, so a commit without files costs two processes.
   */
  const commit = (branch: string, message: string, files: Record<string, string> = {}, author?: string) => {
    const index = join(dir, `index-${Math.random().toString(36).slice(2)}`);
    const withIndex = { ...env, GIT_INDEX_FILE: index, ...(author ? { GIT_AUTHOR_NAME: author } : {}) };
    const plumb = (args: string[], input?: string) => execFileSync('git', ['-C', repo, ...args], { env: withIndex, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'ignore'] }).trim();
    const exists = (ref: string) => existsSync(join(repo, ref)) || plumb(['for-each-ref', ref]) !== '';
    const parent = exists(`refs/heads/${branch}`) ? `refs/heads/${branch}` : exists('refs/heads/main') ? 'refs/heads/main' : undefined;
    let tree = parent ? `${parent}^{tree}` : plumb(['mktree'], '');
    if (Object.keys(files).length > 0) {
      if (parent) plumb(['read-tree', parent]);
      for (const [path, content] of Object.entries(files)) {
        plumb(['update-index', '--add', '--cacheinfo', `100644,${plumb(['hash-object', '-w', '--stdin'], content)},${path}`]);
      }
      tree = plumb(['write-tree']);
      rmSync(index, { force: true });
    }
    const sha = plumb(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message]);
    plumb(['update-ref', `refs/heads/${branch}`, sha, parent === `refs/heads/${branch}` ? `${sha}^` : '']);
    return sha;
  };
  if (options.bare === false) {
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    git('add', 'README.md');
    git('commit', '--quiet', '-m', 'Start');
  } else {
    commit('main', 'Start', { 'README.md': 'hello\n' });
  }

  let topics = 0;
  const seenFile = (id: string) => join(dir, `${id}.env.json`);
  const seen = async (id: string) => JSON.parse(readFileSync(await eventually(async () => (existsSync(seenFile(id)) ? seenFile(id) : undefined)), 'utf8')) as Seen;
  return {
    forge,
    dir,
    repo,
    git,
    seen,
    commit: async (branch, message, files) => commit(branch, message, files),
    setCommitState: (sha, state) => recordCommitState(repo, sha, state),
    async mergedChange(title, opts) {
      const branch = `topic-${++topics}`;
      const sha = commit(branch, title, { [`${branch}.txt`]: `${title}\n` }, opts?.author);
      const { change } = await forge.openChangeRequest({ sourceBranch: branch, targetBranch: 'main', title, body: '', labels: opts?.labels ?? [] });
      await recordCommitState(repo, sha, 'success');
      const merged = await forge.mergeWhenGreen(change.number);
      if (merged.state !== 'merged' || !merged.mergeCommit) throw new Error(`#${change.number} did not merge: ${merged.state}`);
      return { number: change.number, mergeCommit: merged.mergeCommit };
    },
    async finishPipeline(id, status) {
      writeFileSync(join(dir, `${id}.result.tmp`), status === 'success' ? '0' : '1');
      renameSync(join(dir, `${id}.result.tmp`), join(dir, `${id}.result`));
    },
    pipelineVariables: async (id) => (await seen(id)).env,
    comments: async (number) => (JSON.parse(readFileSync(join(git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'trainyard', 'changes', `${number}.json`), 'utf8')) as { comments: { body: string }[] }).comments.map((c) => c.body),
    async close() {
      // Runs still waiting for a result are cancelled, and awaited, before their folder goes.
      const runs = join(git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'trainyard', 'pipelines');
      const ids = existsSync(runs) ? readdirSync(runs).flatMap((f) => (/^\d+\.json$/.test(f) ? [f.slice(0, -5)] : [])) : [];
      for (const id of ids) await forge.cancelPipeline(id);
      await eventually(async () => {
        for (const id of ids) {
          const record = JSON.parse(readFileSync(join(runs, `${id}.json`), 'utf8')) as { status: string; pid?: number };
          // A runner still going, or not started yet, would write into the folder while it goes.
          const starting = !record.pid && !(PIPELINE_DONE as readonly string[]).includes(record.status);
          if (starting || (record.pid && alive(record.pid))) return undefined;
        }
        return true;
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

forgeContract('local git', async () => createLocalFixture());

describe('local git forge: commit states and releases', () => {
  let fx: LocalFixture;
  beforeEach(() => {
    fx = createLocalFixture({ ci: false });
  });
  afterEach(() => fx.close());

  it('reads a recorded state by short sha, and refuses to record one for a partial sha', async () => {
    const sha = fx.git('rev-parse', 'main');
    await recordCommitState(fx.repo, sha, 'success');
    expect(await fx.forge.commitState(sha.slice(0, 10))).toBe('success');
    expect(await errorCode(recordCommitState(fx.repo, sha.slice(0, 10), 'success'))).toBe('INVALID_REF');
    expect(await errorCode(fx.forge.commitState('f'.repeat(40)))).toBe('REF_NOT_FOUND');
  });

  it('keeps the latest release where a release marked not-latest leaves it', async () => {
    const sha = fx.git('rev-parse', 'main');
    for (const tag of ['v1', 'v2', 'v3']) await fx.forge.createTag(tag, sha, tag);
    await fx.forge.publishRelease({ tag: 'v1', name: 'v1', notes: '', prerelease: false });
    await fx.forge.publishRelease({ tag: 'v2', name: 'v2', notes: '', prerelease: false, latest: false });
    await fx.forge.publishRelease({ tag: 'v3', name: 'v3', notes: '', prerelease: true, latest: true });
    expect((await fx.forge.latestRelease())?.tag).toBe('v1');
    await fx.forge.publishRelease({ tag: 'v1', name: 'v1', notes: '', prerelease: true });
    expect(await fx.forge.latestRelease()).toBeUndefined();
  });
});

describe('local git forge: branches and files', () => {
  let fx: LocalFixture;
  afterEach(() => fx.close());

  it('brings a checked-out branch\'s work tree along, and will not move it under local changes', async () => {
    fx = createLocalFixture({ ci: false, bare: false });
    const { sha } = await fx.forge.commitFile({ branch: 'main', path: 'docs/VERSION', content: '2\n', message: 'Bump' });
    expect(fx.git('rev-parse', 'HEAD')).toBe(sha);
    expect(readFileSync(join(fx.repo, 'docs', 'VERSION'), 'utf8')).toBe('2\n');
    expect(fx.git('status', '--porcelain')).toBe('');

    writeFileSync(join(fx.repo, 'README.md'), 'edited by a person\n');
    expect(await errorCode(fx.forge.commitFile({ branch: 'main', path: 'docs/VERSION', content: '3\n', message: 'Bump' }))).toBe('FORGE_CONFLICT');
    expect(fx.git('rev-parse', 'main')).toBe(sha);
    expect(readFileSync(join(fx.repo, 'README.md'), 'utf8')).toBe('edited by a person\n');
    // Another branch is written without looking at the work tree at all.
    await fx.forge.createBranch('bump', 'main');
    expect((await fx.forge.commitFile({ branch: 'bump', path: 'README.md', content: 'bumped\n', message: 'Bump' })).changed).toBe(true);
    expect(readFileSync(join(fx.repo, 'README.md'), 'utf8')).toBe('edited by a person\n');
  });

  it('lands concurrent commits to one branch one after the other', async () => {
    fx = createLocalFixture({ ci: false });
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => fx.forge.commitFile({ branch: 'main', path: `${name}.txt`, content: name, message: `Add ${name}` })));
    for (const name of ['a', 'b', 'c', 'd']) expect(await fx.forge.readFile(`${name}.txt`, 'main')).toBe(name);
    expect(fx.git('rev-list', '--count', 'main')).toBe('5');
  });

  it('rejects paths outside the tree and reports unknown refs and branches', async () => {
    fx = createLocalFixture({ ci: false });
    for (const path of ['../x', '.git/config', 'a//b', '/etc/passwd', '', 'README.md/inside']) {
      expect(await errorCode(fx.forge.commitFile({ branch: 'main', path, content: 'x', message: 'x' }))).toBe('FORGE_INVALID');
    }
    expect(await errorCode(fx.forge.commitFile({ branch: 'nope', path: 'x', content: 'x', message: 'x' }))).toBe('REF_NOT_FOUND');
    expect(await errorCode(fx.forge.readFile('README.md', 'nope'))).toBe('REF_NOT_FOUND');
    expect(await errorCode(fx.forge.createBranch('x', 'nope'))).toBe('REF_NOT_FOUND');
    expect(await errorCode(fx.forge.createBranch('bad..name', 'main'))).toBe('INVALID_REF');
  });
});

describe('local git forge: pull requests', () => {
  let fx: LocalFixture;
  afterEach(() => fx.close());

  async function topic(name: string, files: Record<string, string> = { [`${name}.txt`]: name }) {
    const sha = await fx.commit(name, `Work on ${name}`, files);
    return { sha, ...(await fx.forge.openChangeRequest({ sourceBranch: name, targetBranch: 'main', title: `Topic ${name}`, body: '' })) };
  }

  it('numbers requests opened at the same time uniquely, and opens one per branch', async () => {
    fx = createLocalFixture({ ci: false });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) await fx.commit(name, name);
    const opened = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'a', 'a'].map((name) => fx.forge.openChangeRequest({ sourceBranch: name, targetBranch: 'main', title: name, body: '' })));
    expect(new Set(opened.map((o) => o.change.number)).size).toBe(6);
    expect(opened.filter((o) => o.change.sourceBranch === 'a' && o.created)).toHaveLength(1);
    expect(await errorCode(fx.forge.openChangeRequest({ sourceBranch: 'main', targetBranch: 'main', title: 't', body: '' }))).toBe('FORGE_INVALID');
    await fx.forge.createBranch('empty', 'main');
    expect(await errorCode(fx.forge.openChangeRequest({ sourceBranch: 'empty', targetBranch: 'main', title: 't', body: '' }))).toBe('FORGE_INVALID');
  });

  it('merges with a GitHub-style merge commit that the history and the changelog read', async () => {
    fx = createLocalFixture({ ci: false });
    await fx.forge.createTag('v1', 'main', 'r');
    const merged = await fx.mergedChange('Add search', { author: 'Ada Lovelace', labels: ['feature'] });
    const { entries } = await fx.forge.commitsBetween('v1', 'main', 10);
    expect(entries[0]).toMatchObject({ sha: merged.mergeCommit, subject: 'Merge pull request #1 from topic-1', pr: 1, author: 'Trainyard' });
    const { changes } = await fx.forge.mergedChangesBetween('v1', 'main', 10);
    expect(changes).toEqual([expect.objectContaining({ number: 1, title: 'Add search', author: 'Ada Lovelace', labels: ['feature'], mergeCommit: merged.mergeCommit })]);
    expect(fx.git('rev-list', '--parents', '-n', '1', merged.mergeCommit).split(' ')).toHaveLength(3);
  });

  it('merges at once when there is no CI at all, and reports a conflict without moving anything', async () => {
    fx = createLocalFixture({ ci: false });
    const clean = await topic('clean');
    expect(await fx.forge.mergeWhenGreen(clean.change.number)).toMatchObject({ state: 'merged' });
    const one = await topic('one', { 'README.md': 'one\n' });
    const two = await topic('two', { 'README.md': 'two\n' });
    await fx.forge.mergeWhenGreen(one.change.number);
    const before = fx.git('rev-parse', 'main');
    expect(await errorCode(fx.forge.mergeWhenGreen(two.change.number))).toBe('FORGE_CONFLICT');
    expect(fx.git('rev-parse', 'main')).toBe(before);
    expect((await fx.forge.getChangeRequest(two.change.number)).state).toBe('open');
    expect(fx.git('worktree', 'list')).not.toContain('trainyard-work-');
  });

  it('with CI, runs the pipeline of an unchecked head and merges once it passes (auto-merge)', async () => {
    fx = createLocalFixture();
    const { sha, change } = await topic('auto');
    expect(await fx.forge.mergeWhenGreen(change.number)).toEqual({ state: 'scheduled' });
    const run = await fx.forge.latestPipeline('auto');
    expect(run).toMatchObject({ sha, ref: 'auto' });
    expect(await fx.forge.commitState(sha)).toBe('pending');
    expect((await fx.forge.getChangeRequest(change.number)).state).toBe('open');
    await fx.finishPipeline(run!.id, 'success');
    const merged = await eventually(async () => {
      const c = await fx.forge.getChangeRequest(change.number);
      return c.state === 'merged' ? c : undefined;
    });
    expect(await fx.forge.readFile('auto.txt', 'main')).toBe('auto');
    expect(fx.git('rev-parse', 'main')).toBe(merged.mergeCommit);
  });

  it('cancels an auto-merge whose head fails, saying so', async () => {
    fx = createLocalFixture({ ci: false });
    const { sha, change } = await topic('doomed');
    await recordCommitState(fx.repo, sha, 'pending');
    expect((await fx.forge.mergeWhenGreen(change.number)).state).toBe('scheduled');
    await recordCommitState(fx.repo, sha, 'failure');
    expect((await fx.forge.getChangeRequest(change.number)).state).toBe('open');
    expect(await fx.comments(change.number)).toEqual([`Auto-merge canceled: the checks of ${sha.slice(0, 12)} failed.`]);
    await recordCommitState(fx.repo, sha, 'success');
    expect((await fx.forge.getChangeRequest(change.number)).state).toBe('open');
  });

  it('reverts through a branch holding the revert commit, once', async () => {
    fx = createLocalFixture({ ci: false });
    const merged = await fx.mergedChange('Break something');
    const [revert, again] = await Promise.all([fx.forge.revertChangeRequest(merged.number), fx.forge.revertChangeRequest(merged.number)]);
    expect(again.number).toBe(revert.number);
    expect(revert).toMatchObject({ sourceBranch: `revert-${merged.number}`, title: 'Revert "Break something"', state: 'open' });
    expect(await fx.forge.readFile('topic-1.txt', `revert-${merged.number}`)).toBeUndefined();
    expect(await fx.forge.readFile('topic-1.txt', 'main')).toBe('Break something\n');
    const open = await topic('unmerged');
    expect(await errorCode(fx.forge.revertChangeRequest(open.change.number))).toBe('FORGE_CONFLICT');
    expect(await errorCode(fx.forge.closeChangeRequest(merged.number))).toBe('FORGE_CONFLICT');
  });

  it('holds titles, labels and bodies to GitHub\'s limits', async () => {
    fx = createLocalFixture({ ci: false });
    await fx.commit('t', 't');
    const open = (title: string, labels: string[] = []) => fx.forge.openChangeRequest({ sourceBranch: 't', targetBranch: 'main', title, body: '', labels });
    expect(await errorCode(open('x'.repeat(257)))).toBe('FORGE_INVALID');
    expect(await errorCode(open(' '))).toBe('FORGE_INVALID');
    expect(await errorCode(open('ok', ['bad\nlabel']))).toBe('FORGE_INVALID');
    const { change } = await open('ok');
    expect(await errorCode(fx.forge.comment(change.number, 'x'.repeat(70_000)))).toBe('FORGE_INVALID');
    expect(await errorCode(fx.forge.comment(4242, 'hi'))).toBe('FORGE_NOT_FOUND');
  });
});

describe('local git forge: local CI', () => {
  let fx: LocalFixture;
  afterEach(() => fx.close());

  const runsDir = () => join(fx.git('rev-parse', '--path-format=absolute', '--git-common-dir'), 'trainyard', 'pipelines');
  const record = (id: string) => JSON.parse(readFileSync(join(runsDir(), `${id}.json`), 'utf8')) as { pid?: number; commandPid?: number; status: string; reason?: string };
  const statusOf = (id: string, wanted: string) => eventually(async () => ((await fx.forge.getPipeline(id)).status === wanted ? fx.forge.getPipeline(id) : undefined));

  it('says how to configure CI when there is none', async () => {
    fx = createLocalFixture({ ci: false });
    const problem = await fx.forge.triggerPipeline({ ref: 'main' }).catch((err: unknown) => err);
    expect(problem).toMatchObject({ code: 'FORGE_INVALID', hint: expect.stringContaining('ci: { command') });
    expect(await errorCode(fx.forge.getPipeline('1'))).toBe('FORGE_NOT_FOUND');
    expect(await errorCode(fx.forge.getPipeline('../1'))).toBe('FORGE_NOT_FOUND');
    expect(await fx.forge.latestPipeline('main')).toBeUndefined();
  });

  it('runs the command detached, in a fresh work tree of the commit, with its variables and none of the worker\'s secrets', async () => {
    fx = createLocalFixture();
    const secret = 'ghp_FAKEtoken1234567890abcdefSECRET';
    process.env.GITHUB_TOKEN = secret;
    try {
      const sha = await fx.commit('main', 'Change the readme', { 'README.md': 'at this commit\n' });
      const run = await fx.forge.triggerPipeline({ ref: 'main', variables: { ENVIRONMENT: 'staging', 'dashed-name': 'ok' } });
      const seen = await fx.seen(run.id);
      expect(seen.env).toMatchObject({ TRAINYARD_PIPELINE_ID: run.id, TRAINYARD_PIPELINE_REF: 'main', TRAINYARD_PIPELINE_SHA: sha, ENVIRONMENT: 'staging', 'dashed-name': 'ok' });
      expect(JSON.stringify(seen)).not.toContain(secret);
      expect(seen.readme).toBe('at this commit\n');
      expect(seen.cwd.startsWith(fx.dir)).toBe(false);
      // Its own process group: a worker restart (or Ctrl-C in the worker's terminal) does not reach it.
      const { pid } = record(run.id);
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]).toBe(String(pid));
      expect(await fx.forge.commitState(sha)).toBe('pending');

      await fx.finishPipeline(run.id, 'success');
      expect((await statusOf(run.id, 'success')).failedJobs).toBeUndefined();
      expect(await fx.forge.commitState(sha)).toBe('success');
      expect(existsSync(seen.cwd)).toBe(false);
      expect(fx.git('worktree', 'list')).not.toContain(seen.cwd);
      expect(await new LocalGitForge(fx.repo, 'main').getPipeline(run.id)).toMatchObject({ status: 'success', sha });
    } finally {
      delete process.env.GITHUB_TOKEN;
    }
  });

  it('refuses variables that cannot be environment variables or would change how programs load', async () => {
    fx = createLocalFixture();
    for (const name of ['1ABC', 'A B', 'PATH', 'LD_PRELOAD', 'NODE_OPTIONS', 'TRAINYARD_PIPELINE_SHA']) {
      expect(await errorCode(fx.forge.triggerPipeline({ ref: 'main', variables: { [name]: 'x' } }))).toBe('FORGE_INVALID');
    }
    expect(await errorCode(fx.forge.triggerPipeline({ ref: 'main', variables: { OK: 'a\0b' } }))).toBe('FORGE_INVALID');
    expect(await errorCode(fx.forge.triggerPipeline({ ref: 'no-such-branch' }))).toBe('REF_NOT_FOUND');
  });

  it('cancels by stopping the command\'s whole process group', async () => {
    fx = createLocalFixture();
    const sha = fx.git('rev-parse', 'main');
    const run = await fx.forge.triggerPipeline({ ref: 'main' });
    const { pid, cwd } = await fx.seen(run.id);
    expect(alive(pid)).toBe(true);
    await fx.forge.cancelPipeline(run.id);
    expect((await fx.forge.getPipeline(run.id)).status).toBe('canceled');
    await eventually(async () => (alive(pid) ? undefined : true));
    await eventually(async () => (record(run.id).status === 'canceled' ? true : undefined));
    expect(existsSync(cwd)).toBe(false);
    expect(await fx.forge.commitState(sha)).toBe('failure');
  });

  it('reports a run whose runner was killed as failed, and retries it once however often asked', async () => {
    fx = createLocalFixture();
    const run = await fx.forge.triggerPipeline({ ref: 'main', variables: { WHO: 'first' } });
    const seen = await fx.seen(run.id);
    const runner = record(run.id).pid!;
    const commandPid = seen.pid;
    process.kill(runner, 'SIGKILL');
    process.kill(-commandPid, 'SIGKILL');
    const failed = await statusOf(run.id, 'failed');
    expect(existsSync(seen.cwd)).toBe(false);
    expect(failed.failedJobs).toEqual([{ name: `ci (its runner (pid ${runner}) exited without finishing it)`, url: failed.url }]);

    const [retried, again] = await Promise.all([fx.forge.retryPipeline(run.id), fx.forge.retryPipeline(run.id)]);
    expect(again.id).toBe(retried.id);
    expect(retried.id).not.toBe(run.id);
    expect(await fx.pipelineVariables(retried.id)).toMatchObject({ WHO: 'first' });
    // A run that is going (or went) well is the one to watch: nothing to retry.
    expect((await fx.forge.retryPipeline(retried.id)).id).toBe(retried.id);
    await fx.finishPipeline(retried.id, 'success');
    await statusOf(retried.id, 'success');
    expect((await fx.forge.retryPipeline(retried.id)).id).toBe(retried.id);
  });

  it('plays a configured manual job on the pipeline\'s commit, once while it runs', async () => {
    fx = createLocalFixture();
    const sha = fx.git('rev-parse', 'main');
    await fx.forge.createTag('v1', sha, 'r');
    const pipeline = await fx.forge.triggerPipeline({ ref: 'v1', variables: { ENVIRONMENT: 'production' } });
    await fx.finishPipeline(pipeline.id, 'success');
    await statusOf(pipeline.id, 'success');
    expect((await fx.forge.latestPipeline('v1'))?.id).toBe(pipeline.id);

    const unknown = await fx.forge.playJob(pipeline.id, 'deploy-moon').catch((err: unknown) => err);
    expect(unknown).toMatchObject({ code: 'FORGE_NOT_FOUND', hint: expect.stringContaining('promote-production') });
    const job = await fx.forge.playJob(pipeline.id, 'promote-production');
    expect((await fx.forge.playJob(pipeline.id, 'promote-production')).id).toBe(job.id);
    expect(await fx.pipelineVariables(job.id)).toMatchObject({ TRAINYARD_PIPELINE_JOB: 'promote-production', TRAINYARD_PIPELINE_REF: 'v1', ENVIRONMENT: 'production' });
    await fx.finishPipeline(job.id, 'failed');
    expect((await statusOf(job.id, 'failed')).failedJobs?.[0]?.name).toBe('promote-production (exited with 1)');
    // A job does not speak for the commit's CI; a failed job can be played again.
    expect(await fx.forge.commitState(sha)).toBe('success');
    expect((await fx.forge.latestPipeline('v1'))?.id).toBe(pipeline.id);
    expect((await fx.forge.playJob(pipeline.id, 'promote-production')).id).not.toBe(job.id);
  });

  it('runs several pipelines at once, each in its own work tree', async () => {
    fx = createLocalFixture();
    const runs = await Promise.all([1, 2, 3, 4].map((n) => fx.forge.triggerPipeline({ ref: 'main', variables: { N: String(n) } })));
    const seen = await Promise.all(runs.map((run) => fx.seen(run.id)));
    expect(new Set(seen.map((s) => s.cwd)).size).toBe(4);
    for (const run of runs) await fx.finishPipeline(run.id, 'success');
    for (const run of runs) await statusOf(run.id, 'success');
  });

  it('lets the newest pipeline of a commit decide its CI state', async () => {
    fx = createLocalFixture();
    const sha = fx.git('rev-parse', 'main');
    const older = await fx.forge.triggerPipeline({ ref: 'main' });
    const newer = await fx.forge.triggerPipeline({ ref: 'main' });
    await fx.finishPipeline(newer.id, 'success');
    await statusOf(newer.id, 'success');
    await fx.finishPipeline(older.id, 'failed');
    await statusOf(older.id, 'failed');
    expect(await fx.forge.commitState(sha)).toBe('success');
  });

  it('fails a run whose program does not exist, saying so in its log', async () => {
    fx = createLocalFixture({ ci: { command: ['no-such-program-xyz'], cwd: tmpdir() } });
    const run = await fx.forge.triggerPipeline({ ref: 'main' });
    const failed = await statusOf(run.id, 'failed');
    expect(record(run.id).reason).toContain('no-such-program-xyz');
    expect(readFileSync(new URL(failed.url), 'utf8')).toContain('was not found');
  });
});
