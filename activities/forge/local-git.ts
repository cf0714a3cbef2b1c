/**
 * The embedded default forge: a git repository on this machine, driven by the real `git` program.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { clipText, MAX_AUTHOR_LENGTH, MAX_SUBJECT_LENGTH, prNumberOf, type ChangeEntry } from '../../domain/changelog.js';
import { TrainyardError } from '../../domain/errors.js';
import { refNameProblem } from '../../domain/tags.js';
import type { Forge, Release, ReleaseInput } from './forge.js';

const run = promisify(execFile);

const SHA = /^[0-9a-f]{7,64}$/;
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Fields end in NUL and `-z` ends records in NUL: a commit message cannot hold NUL, while it can hold
 * newlines, tabs, record separators or `%`. The subject comes last so the fields are positional.
 */
const LOG_FORMAT = '--format=%H%x00%an%x00%aI%x00%s';
const LOG_FIELDS = 4;

/** Parses `git log -z` output in LOG_FORMAT. */
function parseLog(stdout: string): ChangeEntry[] {
  const fields = stdout.split('\0');
  const entries: ChangeEntry[] = [];
  for (let i = 0; i + LOG_FIELDS <= fields.length; i += LOG_FIELDS) {
    const [sha = '', author = '', date = '', subject = ''] = fields.slice(i, i + LOG_FIELDS);
    if (!FULL_SHA.test(sha)) throw new TrainyardError('FORGE_UNAVAILABLE', `unexpected git log output near "${sha.slice(0, 40)}"`, 'Retried automatically; check the git version if it persists.');
    // The number comes from the whole subject: clipping may cut a "(#123)" suffix.
    const pr = prNumberOf(subject);
    const entry: ChangeEntry = { sha, subject: clipText(subject, MAX_SUBJECT_LENGTH), author: clipText(author, MAX_AUTHOR_LENGTH), date };
    entries.push(pr === undefined ? entry : { ...entry, pr });
  }
  return entries;
}

/**
 * File name for a tag's release: `/` and `%` are escaped (so `a/b` and `a%2Fb` never collide), and a
 * name too long for the file system is cut and made unique by a hash of the tag.
 */
function releaseFileName(tag: string): string {
  let name: string;
  try {
    name = encodeURIComponent(tag);
  } catch {
    throw new TrainyardError('INVALID_REF', `tag "${tag.slice(0, 80)}" is not valid Unicode`, 'Use a tag made of valid characters.');
  }
  if (name.length <= 180) return name;
  return `${name.slice(0, 150)}~${createHash('sha256').update(tag).digest('hex').slice(0, 20)}`;
}

/** File system failures: permissions are for a person to fix; the rest may pass (disk full, I/O). */
function fsFailure(err: unknown, what: string): TrainyardError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = `${what} failed: ${(err as Error).message}`;
  if (['EACCES', 'EPERM', 'EROFS'].includes(code)) {
    return new TrainyardError('FORGE_AUTH', message, 'Give the worker write access to the repository\'s git directory.', { cause: err });
  }
  return new TrainyardError('FORGE_UNAVAILABLE', message, 'Retried automatically; check the disk if it persists.', { cause: err });
}

/** Writes a file so a reader sees the old content or the new, never half of it. */
async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, content, 'utf8');
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsFailure(err, `writing ${path}`);
  }
}

function isStoredRelease(value: unknown): value is ReleaseInput {
  const v = value as Partial<ReleaseInput> | null;
  return typeof v === 'object' && v !== null && typeof v.tag === 'string' && typeof v.name === 'string' && typeof v.notes === 'string' && typeof v.prerelease === 'boolean';
}

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

  async commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }> {
    const max = Math.max(0, Math.floor(limit));
    // Resolved first, so an unknown ref is REF_NOT_FOUND rather than a git log failure.
    const toSha = await this.resolveRef(to);
    const fromSha = from === undefined ? undefined : await this.resolveRef(from);
    const range = fromSha ? [`${fromSha}..${toSha}`] : [toSha];
    // One commit more than asked for tells whether there were more.
    const out = await this.git(['log', '-z', LOG_FORMAT, '--no-color', `--max-count=${max + 1}`, '--end-of-options', ...range, '--']);
    if (!out.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `git log ${range.join(' ')} failed: ${out.stderr.trim().slice(0, 300)}`, 'Retried automatically; check the repository (git fsck) if it persists.');
    const entries = parseLog(out.stdout);
    return { entries: entries.slice(0, max), truncated: entries.length > max };
  }

  /** Where releases live: inside the git directory, so they never show up in the work tree. */
  private async releasePaths(tag: string): Promise<{ json: string; md: string; dir: string }> {
    this.checkRef(tag);
    const out = await this.git(['rev-parse', '--absolute-git-dir']);
    if (!out.ok) throw new TrainyardError('CONFIG_INVALID', `${this.path} is not a git repository`, 'Fix forge.path in the config, or run git init there.');
    const dir = join(out.stdout.trim(), 'trainyard', 'releases');
    const base = join(dir, releaseFileName(tag));
    return { json: `${base}.json`, md: `${base}.md`, dir };
  }

  private async readRelease(path: string): Promise<ReleaseInput | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsFailure(err, `reading ${path}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isStoredRelease(parsed)) throw new TrainyardError('FORGE_UNAVAILABLE', `release file ${path} is damaged`, 'Publish the release again to rewrite it, or delete the file.');
    return parsed;
  }

  async publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }> {
    const paths = await this.releasePaths(release.tag);
    if ((await this.tagCommit(release.tag)) === undefined) {
      throw new TrainyardError('REF_NOT_FOUND', `tag ${release.tag} was not found in ${this.path}`, 'Create the tag before publishing its release.');
    }
    // A damaged file is a release that existed; it is about to be rewritten anyway.
    const existed = (await this.readRelease(paths.json).catch(() => 'damaged')) !== undefined;
    const stored: ReleaseInput = { tag: release.tag, name: release.name, notes: release.notes, prerelease: release.prerelease };
    await mkdir(paths.dir, { recursive: true }).catch((err: unknown) => {
      throw fsFailure(err, `creating ${paths.dir}`);
    });
    // The rendered page first: the JSON is what counts, and it is written last.
    const page = `# ${clipText(release.name, MAX_SUBJECT_LENGTH)}${release.prerelease ? ' (pre-release)' : ''}\n\n${release.notes}\n`;
    await writeAtomically(paths.md, page);
    await writeAtomically(paths.json, `${JSON.stringify(stored, null, 2)}\n`);
    return { url: pathToFileURL(paths.md).href, created: !existed };
  }

  async getRelease(tag: string): Promise<Release | undefined> {
    const paths = await this.releasePaths(tag);
    const stored = await this.readRelease(paths.json);
    // The tag check guards against the (hashed) file name of another tag.
    if (!stored || stored.tag !== tag) return undefined;
    return { ...stored, url: pathToFileURL(paths.md).href };
  }

  async createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string> {
    this.checkRef(branch);
    const existing = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}`]);
    if (existing.ok) return existing.stdout.trim();
    const base = await this.resolveRef(fromRef);
    const shas = [];
    for (const pick of picks) shas.push(await this.resolveRef(pick));
    // Cherry-pick in a throw-away worktree, so the repository's own checkout is never touched.
    const dir = await mkdtemp(join(tmpdir(), 'trainyard-hotfix-'));
    try {
      const add = await this.git(['worktree', 'add', '--detach', dir, base]);
      if (!add.ok) throw new TrainyardError('FORGE_UNAVAILABLE', `cannot prepare hotfix ${branch}: ${add.stderr.trim()}`, 'Retried automatically.');
      for (const sha of shas) {
        const picked = await this.gitIn(dir, ['cherry-pick', '-x', '--allow-empty', sha]);
        if (!picked.ok) {
          await this.gitIn(dir, ['cherry-pick', '--abort']);
          throw new TrainyardError('CHERRY_PICK_CONFLICT', `cherry-picking ${sha.slice(0, 12)} onto ${fromRef} conflicts`, 'Resolve it by hand on a branch and tag that commit (trainyard tag <service> --from <sha>).');
        }
      }
      const head = (await this.gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim();
      await this.git(['update-ref', `refs/heads/${branch}`, head, '']);
      return head;
    } finally {
      await this.git(['worktree', 'remove', '--force', dir]);
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async gitIn(dir: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    return this.git(['-c', `safe.directory=${dir}`, '-C', dir, ...args]);
  }
}
