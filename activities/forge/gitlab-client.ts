/**
 * The Gitbeaker resources the GitLab forge uses, built once with our requester, and the two ways to
 * call them: `call` (any failure becomes a TrainyardError) and `attempt` (the caller looks at the
 * failure first, for the "already exists" answers that mean an earlier attempt already did the work).
 */
import { Branches, Commits, Jobs, MergeRequestNotes, MergeRequests, Pipelines, ProjectReleases, Repositories, RepositoryFiles, Tags } from '@gitbeaker/rest';
import { TrainyardError } from '../../domain/errors.js';
import { refNameProblem } from '../../domain/tags.js';
import { DEFAULT_POLICY, failureOf, gitlabRequester, toTrainyardError, type ApiFailure, type HttpPolicy } from './gitlab-http.js';

export interface GitLabForgeOptions {
  /** `group/name` (URL-encoded by Gitbeaker) or the numeric project id. */
  project: string | number;
  /** Host root, e.g. https://gitlab.com (the API is under /api/v4). */
  url: string;
  /** Personal, project or group access token with the `api` scope; sent as PRIVATE-TOKEN. */
  token: string;
  defaultBranch: string;
  /** Bound on one HTTP attempt. */
  requestTimeoutMs: number;
  /** Retry tuning (tests shorten waits); defaults in DEFAULT_POLICY. */
  http?: Partial<Omit<HttpPolicy, 'requestTimeoutMs'>>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: ApiFailure };

function resources(options: GitLabForgeOptions) {
  const policy: HttpPolicy = { ...DEFAULT_POLICY, ...options.http, requestTimeoutMs: options.requestTimeoutMs };
  // queryTimeout null: Gitbeaker's one signal would cover every page of a listing; ours bounds each attempt.
  const config = { host: options.url.replace(/\/+$/, ''), token: options.token, requesterFn: gitlabRequester(policy), queryTimeout: null };
  return {
    commits: new Commits(config),
    repositories: new Repositories(config),
    tags: new Tags(config),
    releases: new ProjectReleases(config),
    branches: new Branches(config),
    files: new RepositoryFiles(config),
    mergeRequests: new MergeRequests(config),
    notes: new MergeRequestNotes(config),
    pipelines: new Pipelines(config),
    jobs: new Jobs(config),
  };
}

export type GitLabApi = ReturnType<typeof resources>;

export class GitLabClient {
  readonly api: GitLabApi;
  readonly project: string | number;
  /** Where, for messages: "group/name on https://gitlab.example.com". */
  readonly where: string;
  readonly webRoot: string;
  /** Kept out of enumerable fields, so no JSON or inspect of the forge shows it; used to redact. */
  readonly #token: string;

  constructor(options: GitLabForgeOptions) {
    this.#token = options.token;
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TrainyardError('CONFIG_INVALID', 'the GitLab URL is not a URL', 'Set forge.url to the host root, e.g. https://gitlab.com.');
    }
    // fetch refuses such URLs with a message quoting them, password included: stop before that.
    if (url.username || url.password) throw new TrainyardError('CONFIG_INVALID', 'the GitLab URL contains credentials', 'Give the token through the token setting, not in forge.url.');
    this.api = resources(options);
    this.project = options.project;
    const host = options.url.replace(/\/+$/, '');
    this.where = `${options.project} on ${host}`;
    this.webRoot = `${host}/${options.project}`;
  }

  async attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof TrainyardError) throw err;
      return { ok: false, failure: failureOf(err, this.#token) };
    }
  }

  fail(failure: ApiFailure, what: string, lookup?: 'ref'): TrainyardError {
    return toTrainyardError(failure, what, this.where, lookup);
  }

  async call<T>(what: string, fn: () => Promise<T>, lookup?: 'ref'): Promise<T> {
    const outcome = await this.attempt(fn);
    if (outcome.ok) return outcome.value;
    throw this.fail(outcome.failure, what, lookup);
  }

  /** Like `call`, but a 404 (of the object, not of the project) is `undefined`. */
  async find<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const outcome = await this.attempt(fn);
    if (outcome.ok) return outcome.value;
    if (isMissing(outcome.failure)) return undefined;
    throw this.fail(outcome.failure, what);
  }

  checkRef(ref: string): void {
    const problem = refNameProblem(ref);
    if (problem) throw new TrainyardError('INVALID_REF', `"${ref.slice(0, 80)}" is not a valid ref: it ${problem}`, 'Use a branch, tag or commit sha.');
  }
}

/** A 404 about the object asked for; "404 Project Not Found" is a configuration problem instead. */
export function isMissing(failure: ApiFailure, what?: RegExp): boolean {
  if (failure.status !== 404 || /project not found/i.test(failure.message)) return false;
  return what === undefined || what.test(failure.message);
}

/** GitLab's "already exists" answers (400 for tags, branches and files; 409 for releases and merge requests). */
export function alreadyExists(failure: ApiFailure): boolean {
  return (failure.status === 400 || failure.status === 409) && /already exists/i.test(failure.message);
}
