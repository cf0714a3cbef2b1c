/**
 * The embedded default forge: a git repository on this machine, driven by the real `git` program.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { TrainyardError } from '../../domain/errors.js';
import { refNameProblem } from '../../domain/tags.js';
import type { Forge } from './forge.js';

const run = promisify(execFile);

const SHA = /^[0-9a-f]{7,64}$/;

export class LocalGitForge implements Forge {
  constructor(
    private readonly path: string,
    readonly defaultBranch: string,
  ) {}

  private async git(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    if (!existsSync(this.path)) {
      throw new TrainyardError('CONFIG_INVALID', `git repository ${this.path} does not exist`, 'Fix forge.path in the config, or create the repository.');
    }
    try {
      const { stdout, stderr } = await run('git', ['-C', this.path, ...args], {
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_COMMITTER_NAME: 'Trainyard', GIT_COMMITTER_EMAIL: 'trainyard@localhost' },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
      });
      return { ok: true, stdout, stderr };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: unknown };
      if (e.code === 'ENOENT') throw new TrainyardError('COMMAND_NOT_FOUND', 'git is not installed', 'Install git (apt-get install git) and retry.');
      if (typeof e.code !== 'number') throw new TrainyardError('FORGE_UNAVAILABLE', `git ${args[0]} failed: ${e.message}`, 'Retried automatically.');
      return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  private checkRef(ref: string): void {
    const problem = refNameProblem(ref);
    if (problem) throw new TrainyardError('INVALID_REF', `"${ref.slice(0, 80)}" is not a valid ref: it ${problem}`, 'Use a branch, tag or commit sha.');
  }

  async resolveRef(ref: string): Promise<string> {
    this.checkRef(ref);
    const candidates = SHA.test(ref) ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref];
    for (const candidate of candidates) {
      const out = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`]);
      if (out.ok) return out.stdout.trim();
    }
    throw new TrainyardError('REF_NOT_FOUND', `ref "${ref}" was not found in ${this.path}`, 'Check the branch, tag or sha (git log --oneline shows commits).');
  }

  async listTags(prefix: string): Promise<string[]> {
    const out = await this.git(['for-each-ref', '--format=%(refname:strip=2)', 'refs/tags']);
    return out.stdout.split('\n').filter((t) => t && t.startsWith(prefix));
  }

  async tagCommit(tag: string): Promise<string | undefined> {
    this.checkRef(tag);
    const out = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/tags/${tag}^{commit}`]);
    return out.ok ? out.stdout.trim() : undefined;
  }

  async createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }> {
    this.checkRef(tag);
    const sha = await this.resolveRef(commit);
    const existing = await this.tagCommit(tag);
    if (existing === undefined) {
      const out = await this.git(['tag', '--annotate', '--message', message, '--end-of-options', tag, sha]);
      if (out.ok) return { created: true };
    }
    // Either it existed, or another writer created it between our check and our write.
    const now = await this.tagCommit(tag);
    if (now === sha) return { created: false };
    throw new TrainyardError(
      'TAG_CONFLICT',
      `tag ${tag} already exists at ${now?.slice(0, 12) ?? 'another commit'}, not at ${sha.slice(0, 12)}`,
      'Tags are never moved: create the next tag instead (trainyard tag <service> --from <sha>).',
    );
  }
}
