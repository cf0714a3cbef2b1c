/** The local git forge on real repositories in temporary folders. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
