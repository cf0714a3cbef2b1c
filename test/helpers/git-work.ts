/**
 * A temporary folder with a real git repository in `repo/` (branch `main`, one commit of `files`),
 * for end-to-end tests that use a local-git forge, and `git` to act on it as a developer would.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@test.invalid', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@test.invalid' };

export interface GitWork {
  /** The folder (remove it when done). */
  work: string;
  repo: string;
  git(...args: string[]): string;
}

export function gitWork(prefix: string, files: Record<string, string> = { 'README.md': 'hello\n' }): GitWork {
  const work = mkdtempSync(join(tmpdir(), `trainyard-${prefix}-`));
  const repo = join(work, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: gitEnv }).trim();
  git('init', '-q', '-b', 'main');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return { work, repo, git };
}
