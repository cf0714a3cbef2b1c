/** The local git forge on real repositories in temporary folders. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalGitForge } from '../../activities/forge/local-git.js';
import { TrainyardError } from '../../domain/errors.js';
import { commitChange, setupDemoRepo } from '../../demo/demo.js';

let dir: string;
let forge: LocalGitForge;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trainyard-git-'));
  setupDemoRepo(dir);
  forge = new LocalGitForge(join(dir, 'repo'), 'main');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync('git', ['-C', join(dir, 'repo'), ...args], { encoding: 'utf8' }).trim();

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TrainyardError);
    return (err as TrainyardError).code;
  }
  throw new Error('no error');
}

describe('LocalGitForge', () => {
  it('resolves branches, tags and shas', async () => {
    const head = git('rev-parse', 'HEAD');
    expect(await forge.resolveRef('main')).toBe(head);
    expect(await forge.resolveRef(head.slice(0, 10))).toBe(head);
    await forge.createTag('api/v2024.10.02.1', head, 'release');
    expect(await forge.resolveRef('api/v2024.10.02.1')).toBe(head);
  });

  it('creates an annotated tag once; the same tag at the same commit is success', async () => {
    const head = git('rev-parse', 'HEAD');
    expect(await forge.createTag('api/v2024.10.02.1', head, 'Release api/v2024.10.02.1')).toEqual({ created: true });
    expect(await forge.createTag('api/v2024.10.02.1', head, 'again')).toEqual({ created: false });
    expect(git('cat-file', '-t', 'api/v2024.10.02.1')).toBe('tag');
    expect(git('tag', '--list')).toBe('api/v2024.10.02.1');
  });

  it('never moves a tag: the same name at another commit is TAG_CONFLICT', async () => {
    const first = git('rev-parse', 'HEAD');
    await forge.createTag('api/v2024.10.02.1', first, 'r');
    const second = commitChange(dir, 'a fix');
    expect(await codeOf(forge.createTag('api/v2024.10.02.1', second, 'r'))).toBe('TAG_CONFLICT');
    expect(await forge.tagCommit('api/v2024.10.02.1')).toBe(first);
  });

  it('lists tags by prefix', async () => {
    const head = git('rev-parse', 'HEAD');
    await forge.createTag('api/v2024.10.02.1', head, 'r');
    await forge.createTag('web/v2024.10.02.1', head, 'r');
    expect(await forge.listTags('api/')).toEqual(['api/v2024.10.02.1']);
  });

  it('reports bad refs, unknown refs and a missing repository clearly', async () => {
    expect(await codeOf(forge.resolveRef('--upload-pack=evil'))).toBe('INVALID_REF');
    expect(await codeOf(forge.resolveRef('a..b'))).toBe('INVALID_REF');
    expect(await codeOf(forge.resolveRef('no-such-branch'))).toBe('REF_NOT_FOUND');
    expect(await codeOf(new LocalGitForge(join(dir, 'nope'), 'main').resolveRef('main'))).toBe('CONFIG_INVALID');
  });
});

/**
 * Appends commits to main with `git fast-import`: one process for any number of commits, so a long
 * range takes milliseconds to build. Returns the new head.
 */
function importCommits(messages: string[], author = 'Dev Eloper <dev@demo.invalid>'): string {
  const parent = git('rev-parse', 'main');
  const stream = messages.map((message, i) => {
    const when = 1_727_000_000 + i * 60;
    const from = i === 0 ? `from ${parent}\n` : '';
    return `commit refs/heads/main\nauthor ${author} ${when} +0000\ncommitter ${author} ${when} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n${from}\n`;
  });
  execFileSync('git', ['-C', join(dir, 'repo'), 'fast-import', '--quiet'], { input: stream.join('') });
  return git('rev-parse', 'main');
}

describe('LocalGitForge changelog and releases', () => {
  it('lists a 600-commit range newest first, up to the limit, quickly', async () => {
    const base = git('rev-parse', 'HEAD');
    await forge.createTag('api/v2024.10.01.1', base, 'r');
    let started = performance.now();
    const head = importCommits(Array.from({ length: 600 }, (_, i) => `change ${i + 1}`));
    const built = performance.now() - started;

    started = performance.now();
    const all = await forge.commitsBetween('api/v2024.10.01.1', 'main', 1000);
    const listed = performance.now() - started;
    expect(all.truncated).toBe(false);
    expect(all.entries).toHaveLength(600);
    expect(all.entries[0]).toMatchObject({ sha: head, subject: 'change 600', author: 'Dev Eloper' });
    expect(all.entries.at(-1)?.subject).toBe('change 1');
    expect(new Date(all.entries[0]?.date ?? '').getTime()).toBe((1_727_000_000 + 599 * 60) * 1000);

    started = performance.now();
    const capped = await forge.commitsBetween('api/v2024.10.01.1', head, 500);
    const cappedMs = performance.now() - started;
    expect(capped.truncated).toBe(true);
    expect(capped.entries.map((e) => e.subject)).toEqual(all.entries.slice(0, 500).map((e) => e.subject));
    expect(await forge.commitsBetween('api/v2024.10.01.1', head, 600)).toMatchObject({ truncated: false });
    console.log(`600 commits: built in ${built.toFixed(0)} ms, listed in ${listed.toFixed(0)} ms, 500 of them in ${cappedMs.toFixed(0)} ms`);
    expect(listed).toBeLessThan(2000);
  });

  it('lists the whole history when there is no previous tag', async () => {
    const { entries, truncated } = await forge.commitsBetween(undefined, 'main', 10);
    expect(truncated).toBe(false);
    expect(entries.map((e) => e.subject)).toEqual(['Serve /version and /health', 'Start the demo service']);
    expect(entries[0]).toMatchObject({ author: 'Demo Developer', sha: git('rev-parse', 'HEAD') });
    expect(entries[0]?.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
    expect(await forge.commitsBetween(undefined, 'main', 1)).toMatchObject({ truncated: true, entries: [{ subject: 'Serve /version and /health' }] });
  });

  it('keeps subjects intact whatever characters they hold, and picks up PR numbers', async () => {
    const odd = 'Odd \u001e|%x00%s "quotes" <b>ü</b> 🚂\ttab';
    const before = git('rev-parse', 'HEAD');
    importCommits([`${odd}\n\nbody line\n\u001e more body`, 'Fix login (#456)', 'Merge pull request #12 from acme/x\n\nTitle']);
    const { entries } = await forge.commitsBetween(before, 'main', 10);
    expect(entries.map((e) => [e.subject, e.pr])).toEqual([
      ['Merge pull request #12 from acme/x', 12],
      ['Fix login (#456)', 456],
      [odd.replace(/[\u001e\t]/g, ' '), undefined],
    ]);
  });

  it('gives nothing for an empty range and rejects bad or unknown refs', async () => {
    expect(await forge.commitsBetween('main', 'main', 10)).toEqual({ entries: [], truncated: false });
    expect(await codeOf(forge.commitsBetween('no-such-tag', 'main', 10))).toBe('REF_NOT_FOUND');
    expect(await codeOf(forge.commitsBetween(undefined, 'no-such-branch', 10))).toBe('REF_NOT_FOUND');
    expect(await codeOf(forge.commitsBetween('a..b', 'main', 10))).toBe('INVALID_REF');
    expect(await codeOf(forge.commitsBetween(undefined, '--output=/tmp/x', 10))).toBe('INVALID_REF');
  });

  it('publishes a release, and publishing again replaces its notes', async () => {
    await forge.createTag('api/v2024.10.02.1', git('rev-parse', 'HEAD'), 'r');
    const first = await forge.publishRelease({ tag: 'api/v2024.10.02.1', name: 'api 2024-10-02', notes: '- one', prerelease: true });
    expect(first.created).toBe(true);
    // The file is api%2Fv2024.10.02.1.md; its URL escapes the "%" once more.
    expect(first.url).toMatch(/^file:\/\/.*\/\.git\/trainyard\/releases\/api%252Fv2024\.10\.02\.1\.md$/);
    expect(readFileSync(fileURLToPath(first.url), 'utf8')).toBe('# api 2024-10-02 (pre-release)\n\n- one\n');

    const again = await forge.publishRelease({ tag: 'api/v2024.10.02.1', name: 'api 2024-10-02', notes: '- one\n- two', prerelease: false });
    expect(again).toEqual({ url: first.url, created: false });
    expect(await forge.getRelease('api/v2024.10.02.1')).toEqual({
      tag: 'api/v2024.10.02.1',
      name: 'api 2024-10-02',
      notes: '- one\n- two',
      prerelease: false,
      url: first.url,
    });
    const releases = join(dir, 'repo', '.git', 'trainyard', 'releases');
    expect(readdirSync(releases).sort()).toEqual(['api%2Fv2024.10.02.1.json', 'api%2Fv2024.10.02.1.md']);
    expect(git('status', '--porcelain')).toBe('');
  });

  it('has no release for a tag never published, and none for a tag that does not exist', async () => {
    expect(await forge.getRelease('api/v2024.10.02.1')).toBeUndefined();
    expect(await codeOf(forge.publishRelease({ tag: 'api/nope', name: 'n', notes: '', prerelease: false }))).toBe('REF_NOT_FOUND');
    expect(await codeOf(forge.getRelease('bad..tag'))).toBe('INVALID_REF');
  });

  it('keeps tags apart whose names differ only by "/" and "%2F", and reports a damaged file', async () => {
    const head = git('rev-parse', 'HEAD');
    await forge.createTag('a/b', head, 'r');
    await forge.createTag('a%2Fb', head, 'r');
    await forge.publishRelease({ tag: 'a/b', name: 'slash', notes: '', prerelease: false });
    expect(await forge.getRelease('a%2Fb')).toBeUndefined();
    await forge.publishRelease({ tag: 'a%2Fb', name: 'percent', notes: '', prerelease: false });
    expect((await forge.getRelease('a/b'))?.name).toBe('slash');
    expect((await forge.getRelease('a%2Fb'))?.name).toBe('percent');

    const file = join(dir, 'repo', '.git', 'trainyard', 'releases', 'a%2Fb.json');
    expect(existsSync(file)).toBe(true);
    writeFileSync(file, '{"tag": "a/b", "na');
    expect(await codeOf(forge.getRelease('a/b'))).toBe('FORGE_UNAVAILABLE');
    expect(await forge.publishRelease({ tag: 'a/b', name: 'slash', notes: 'fixed', prerelease: false })).toMatchObject({ created: false });
    expect((await forge.getRelease('a/b'))?.notes).toBe('fixed');
  });
});
