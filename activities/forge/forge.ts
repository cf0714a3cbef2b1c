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
}
