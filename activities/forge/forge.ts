import type { ChangeEntry } from '../../domain/changelog.js';

/** A release published on the forge for a tag: its title and Markdown notes. */
export interface ReleaseInput {
  tag: string;
  name: string;
  notes: string;
  prerelease: boolean;
}

export interface Release extends ReleaseInput {
  url: string;
}

/**
 * The one interface every forge implements (local git here; GitHub and GitLab alike). Drivers
 * translate their library's errors into `TrainyardError` codes; nothing forge-specific leaks out.
 */
export interface Forge {
  readonly defaultBranch: string;
  /** Commit sha a branch, tag or sha points at; REF_NOT_FOUND when it does not exist. */
  resolveRef(ref: string): Promise<string>;
  /** Tags whose names start with `prefix`. */
  listTags(prefix: string): Promise<string[]>;
  /** Commit a tag points at, or undefined when there is no such tag. */
  tagCommit(tag: string): Promise<string | undefined>;
  /**
   * Creates an annotated tag. The same tag at the same commit is success (created: false); at
   * another commit it is TAG_CONFLICT, because tags are never moved.
   */
  createTag(tag: string, commit: string, message: string): Promise<{ created: boolean }>;
  /**
   * Commits reachable from `to` but not from `from` (all of `to`'s history when `from` is undefined),
   * newest first, at most `limit`; truncated when there were more. Subjects are cut to
   * MAX_SUBJECT_LENGTH, so the result stays around `limit` × 1 KiB at worst (it crosses Temporal
   * payloads). INVALID_REF / REF_NOT_FOUND for a bad or unknown ref.
   */
  commitsBetween(from: string | undefined, to: string, limit: number): Promise<{ entries: ChangeEntry[]; truncated: boolean }>;
  /**
   * Creates the release of an existing tag, or replaces its name, notes and prerelease flag when it
   * exists (created: false), so publishing again is safe. REF_NOT_FOUND when the tag does not exist.
   */
  publishRelease(release: ReleaseInput): Promise<{ url: string; created: boolean }>;
  /** The release of a tag, or undefined when none was published. */
  getRelease(tag: string): Promise<Release | undefined>;
  /**
   * A hotfix branch: `branch` from `fromRef` with `picks` cherry-picked in order; returns its head.
   * Idempotent: an existing branch is returned as it is. A conflict is CHERRY_PICK_CONFLICT.
   */
  createHotfixBranch(branch: string, fromRef: string, picks: string[]): Promise<string>;
}
