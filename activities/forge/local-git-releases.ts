/**
 * Releases of the local forge: `<gitdir>/trainyard/releases/<tag>.json` (what counts) and `.md` (the
 * rendered page its URL points at), and `<gitdir>/trainyard/latest-release.json` naming the release
 * marked latest.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clipText, MAX_SUBJECT_LENGTH } from '../../domain/changelog.js';
import { TrainyardError } from '../../domain/errors.js';
import type { Release, ReleaseInput } from './forge.js';
import type { GitRepo } from './local-git-repo.js';
import { ensureDir, readJson, writeAtomically, writeJson } from './local-git-store.js';

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

type StoredRelease = Omit<ReleaseInput, 'latest'>;

function isStoredRelease(value: unknown): value is StoredRelease {
  const v = value as Partial<ReleaseInput> | null;
  return typeof v === 'object' && v !== null && typeof v.tag === 'string' && typeof v.name === 'string' && typeof v.notes === 'string' && typeof v.prerelease === 'boolean';
}

function isLatestPointer(value: unknown): value is { tag: string | null } {
  const v = value as { tag?: unknown } | null;
  return typeof v === 'object' && v !== null && (typeof v.tag === 'string' || v.tag === null);
}

const DAMAGED = 'Publish the release again to rewrite it, or delete the file.';

export class LocalReleases {
  constructor(private readonly repo: GitRepo) {}

  private async paths(tag: string): Promise<{ json: string; md: string; dir: string }> {
    this.repo.checkRef(tag);
    const dir = await this.repo.recordDir('releases');
    const base = join(dir, releaseFileName(tag));
    return { json: `${base}.json`, md: `${base}.md`, dir };
  }

  /** Outside releases/, so that folder holds exactly one page and one record per release. */
  private async latestPointer(): Promise<string> {
    return join(await this.repo.gitDir(), 'trainyard', 'latest-release.json');
  }

  async publish(release: ReleaseInput, tagExists: boolean): Promise<{ url: string; created: boolean }> {
    const paths = await this.paths(release.tag);
    if (!tagExists) {
      throw new TrainyardError('REF_NOT_FOUND', `tag ${release.tag} was not found in ${this.repo.path}`, 'Create the tag before publishing its release.');
    }
    // A damaged file is a release that existed; it is about to be rewritten anyway.
    const existed = (await readJson(paths.json, isStoredRelease, DAMAGED).catch(() => 'damaged')) !== undefined;
    const stored: StoredRelease = { tag: release.tag, name: release.name, notes: release.notes, prerelease: release.prerelease };
    await ensureDir(paths.dir);
    // The rendered page first: the JSON is what counts, and it is written last.
    const page = `# ${clipText(release.name, MAX_SUBJECT_LENGTH)}${release.prerelease ? ' (pre-release)' : ''}\n\n${release.notes}\n`;
    await writeAtomically(paths.md, page);
    await writeAtomically(paths.json, `${JSON.stringify(stored, null, 2)}\n`);
    await this.markLatest(release);
    return { url: pathToFileURL(paths.md).href, created: !existed };
  }

  /** A release marked latest takes the mark; one no longer eligible (unmarked, now a pre-release) gives it up. */
  private async markLatest(release: ReleaseInput): Promise<void> {
    const latest = !release.prerelease && (release.latest ?? true);
    const pointer = await this.latestPointer();
    if (latest) return writeJson(pointer, { tag: release.tag });
    const current = await readJson(pointer, isLatestPointer, DAMAGED).catch(() => undefined);
    if (current?.tag === release.tag) await writeJson(pointer, { tag: null });
  }

  async get(tag: string): Promise<Release | undefined> {
    const paths = await this.paths(tag);
    const stored = await readJson(paths.json, isStoredRelease, DAMAGED);
    // The tag check guards against the (hashed) file name of another tag.
    if (!stored || stored.tag !== tag) return undefined;
    return { tag: stored.tag, name: stored.name, notes: stored.notes, prerelease: stored.prerelease, url: pathToFileURL(paths.md).href };
  }

  async latest(): Promise<Release | undefined> {
    const pointer = await readJson(await this.latestPointer(), isLatestPointer, 'Publish a release again to rewrite it, or delete the file.');
    if (!pointer?.tag) return undefined;
    const release = await this.get(pointer.tag);
    // Pre-releases are never latest, whatever rewrote the record since.
    return release && !release.prerelease ? release : undefined;
  }
}
