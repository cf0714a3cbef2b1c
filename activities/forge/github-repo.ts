/**
 * One repository on GitHub as the forge's parts see it: the Octokit client, `owner`/`repo`, ref
 * validation, and `call`/`find`, through which every request goes so its failure is translated once.
 */
import { TrainyardError } from '../../domain/errors.js';
import { refNameProblem } from '../../domain/tags.js';
import { gitHubFailure, isAnswer, statusOf, type GitHubApi } from './github-client.js';

export const FULL_SHA = /^[0-9a-f]{40}$/;

export class GitHubRepo {
  readonly owner: string;
  readonly repo: string;
  /** Set once the repository answered: a later 404 is about the object asked for, not the repository. */
  private visible = false;

  constructor(
    readonly api: GitHubApi,
    readonly repository: string,
    private readonly token: string,
    readonly webUrl: string,
  ) {
    const [owner = '', repo = ''] = repository.split('/');
    this.owner = owner;
    this.repo = repo;
  }

  get params(): { owner: string; repo: string } {
    return { owner: this.owner, repo: this.repo };
  }

  checkRef(ref: string): void {
    const problem = refNameProblem(ref);
    if (problem) throw new TrainyardError('INVALID_REF', `"${ref.slice(0, 80)}" is not a valid ref: it ${problem}`, 'Use a branch, tag or commit sha.');
  }

  /** Runs one API call; any failure becomes a TrainyardError (404: REF_NOT_FOUND when `notFound` is 'ref'). */
  async call<T>(what: string, fn: (api: GitHubApi) => Promise<T>, notFound?: 'ref'): Promise<T> {
    try {
      const value = await fn(this.api);
      this.visible = true;
      return value;
    } catch (err) {
      throw await this.failure(err, what, notFound);
    }
  }

  /** Like `call`, but a 404 is an answer: the object does not exist (undefined). */
  async find<T>(what: string, fn: (api: GitHubApi) => Promise<T>): Promise<T | undefined> {
    try {
      const value = await fn(this.api);
      this.visible = true;
      return value;
    } catch (err) {
      if (statusOf(err) === 404 && (await this.repositoryVisible(what))) return undefined;
      throw await this.failure(err, what, undefined);
    }
  }

  /** The translation, after making sure a 404 is not a missing (or hidden) repository. */
  async failure(err: unknown, what: string, notFound: 'ref' | undefined): Promise<TrainyardError> {
    if (statusOf(err) === 404) await this.repositoryVisible(what);
    return gitHubFailure(err, { what: `${what} in ${this.repository}`, token: this.token, ...(notFound ? { notFound } : {}) });
  }

  /**
   * GitHub answers 404 both for a missing object and for a repository the token cannot see; one
   * look at the repository (once per forge) tells them apart, so a wrong repository name is never
   * read as "no such tag" or "no such file".
   */
  private async repositoryVisible(what: string): Promise<boolean> {
    if (this.visible) return true;
    try {
      await this.api.rest.repos.get(this.params);
      this.visible = true;
      return true;
    } catch (err) {
      if (statusOf(err) !== 404) throw gitHubFailure(err, { what: `${what} in ${this.repository}`, token: this.token });
      throw new TrainyardError(
        'FORGE_NOT_FOUND',
        `GitHub repository ${this.repository} was not found (or the token cannot see it)`,
        `Check forge.repository (owner/name; ${this.webUrl}/${this.repository} should open) and that the token has access to it.`,
      );
    }
  }

  /** What `refs/<ref>` points at (`heads/main`, `tags/v1`), or undefined when there is no such ref. */
  async ref(ref: string): Promise<{ type: string; sha: string } | undefined> {
    const found = await this.find(`reading ref ${ref}`, (api) => api.rest.git.getRef({ ...this.params, ref }));
    return found?.data.object;
  }

  /** Creates `refs/<ref>`; false when it already existed (whatever it points at: the caller checks). */
  async createRef(ref: string, sha: string): Promise<boolean> {
    return this.call(`creating ref ${ref}`, async (api) => {
      try {
        await api.rest.git.createRef({ ...this.params, ref: `refs/${ref}`, sha });
        return true;
      } catch (err) {
        if (isAnswer(err, 422, /already exists/i)) return false;
        throw err;
      }
    });
  }
}
