/**
 * A fake GitLab (REST API v4) on loopback: one project, stateful in memory (commits with their files,
 * branches, tags, merge requests and notes, releases, pipelines with jobs incl. a manual one), answers
 * shaped and typed like GitLab's (`@gitbeaker/core` schemas), GitLab's pagination headers, auth by
 * PRIVATE-TOKEN or Bearer, and optionally GitLab's rate limiting (429 "Retry later" + RateLimit-*).
 * The project is addressed as its URL-encoded path (`group%2Fapp`) or its id.
 */
import type { CondensedProjectSchema } from '@gitbeaker/core';
import { startHttpFake, type Fault, type FakeRequest, type FakeResponse, type HttpFake } from './http-fake.js';
import { matchRoute, type Ctx } from './gitlab-router.js';
import { flowRoutes } from './gitlab-routes-flow.js';
import { repositoryRoutes } from './gitlab-routes-repo.js';
import type { Site } from './gitlab-schema.js';
import { FakeGitLabState } from './gitlab-state.js';

export const FAKE_GITLAB_TOKEN = 'glpat-FAKE-TRAINYARD-TOKEN-4f1c9e';

export interface FakeGitLabOptions {
  token?: string;
  projectPath?: string;
  projectId?: number;
  defaultBranch?: string;
  /** GitLab's authenticated API throttle: at most `limit` requests per window (default a minute). */
  rateLimit?: { limit: number; windowMs?: number };
}

export interface FakeGitLab {
  /** Host root to give GitLabForge (the API is at `${url}/api/v4`). */
  url: string;
  http: HttpFake;
  token: string;
  projectPath: string;
  projectId: number;
  state: FakeGitLabState;
  /** A commit on `branch` (made from the default branch when missing), with these files changed. */
  commit(branch: string, message: string, files?: Record<string, string>, author?: string): Promise<string>;
  /** What CI says about a commit: a new pipeline for it with that outcome. */
  setCommitState(sha: string, state: 'success' | 'failure' | 'pending'): Promise<void>;
  mergedChange(title: string, opts?: { labels?: string[]; author?: string }): Promise<{ number: number; mergeCommit: string }>;
  finishPipeline(id: string, status: 'success' | 'failed' | 'canceled'): Promise<void>;
  /** GitLab's runners: every pipeline started through the API succeeds `afterMs` after it was created. Returns the stop. */
  runRunners(afterMs: number): () => void;
  pipelineVariables(id: string): Promise<Record<string, string>>;
  /** Note bodies on a merge request, oldest first. */
  notes(iid: number): Promise<string[]>;
  close(): Promise<void>;
}

/** The headers GitLab sends with a throttled answer. */
export function rateLimitHeaders(limit: number, resetAtMs: number, observed = limit + 1): Record<string, string> {
  const resetS = Math.ceil(resetAtMs / 1000);
  return {
    'content-type': 'text/plain',
    'ratelimit-name': 'throttle_authenticated_api',
    'ratelimit-limit': String(limit),
    'ratelimit-observed': String(observed),
    'ratelimit-remaining': '0',
    'ratelimit-reset': String(resetS),
    'ratelimit-resettime': new Date(resetS * 1000).toUTCString(),
    'retry-after': String(Math.max(0, Math.ceil((resetAtMs - Date.now()) / 1000))),
  };
}

/** A fault for `http.inject`: GitLab's 429 with `Retry-After: retryAfterS`. */
export function rateLimitFault(retryAfterS: number, times = 1): Fault {
  return { status: 429, headers: rateLimitHeaders(2000, Date.now() + retryAfterS * 1000), body: 'Retry later\n', times };
}

function authorised(req: FakeRequest, token: string): boolean {
  return req.headers['private-token'] === token || req.headers.authorization === `Bearer ${token}`;
}

/** Counts requests per fixed window, like GitLab's throttle. */
function throttle(options: FakeGitLabOptions['rateLimit']): () => FakeResponse | undefined {
  if (!options) return () => undefined;
  const windowMs = options.windowMs ?? 60_000;
  let windowStart = Date.now();
  let count = 0;
  return () => {
    if (Date.now() - windowStart >= windowMs) {
      windowStart = Date.now();
      count = 0;
    }
    count += 1;
    if (count <= options.limit) return undefined;
    return { status: 429, headers: rateLimitHeaders(options.limit, windowStart + windowMs, count), body: 'Retry later\n' };
  };
}

export async function startFakeGitLab(options: FakeGitLabOptions = {}): Promise<FakeGitLab> {
  const token = options.token ?? FAKE_GITLAB_TOKEN;
  const projectPath = options.projectPath ?? 'group/app';
  const projectId = options.projectId ?? 42;
  const site: Site = { root: '', projectPath, projectId };
  const state = new FakeGitLabState(site, options.defaultBranch ?? 'main');
  const limited = throttle(options.rateLimit);
  const routes = [...repositoryRoutes, ...flowRoutes];

  const handle = (req: FakeRequest): FakeResponse => {
    const throttled = limited();
    if (throttled) return throttled;
    if (!authorised(req, token)) return { status: 401, body: { message: '401 Unauthorized' } };
    const segments = req.path.split('/').filter(Boolean);
    if (segments[0] !== 'api' || segments[1] !== 'v4' || segments[2] !== 'projects' || !segments[3]) return { status: 404, body: { error: '404 Not Found' } };
    const project = decodeURIComponent(segments[3]);
    if (project !== projectPath && project !== String(projectId)) return { status: 404, body: { message: '404 Project Not Found' } };
    const rest = segments.slice(4);
    if (rest.length === 0 && req.method === 'GET') {
      const body: CondensedProjectSchema = { id: projectId, web_url: `${site.root}/${projectPath}`, name: projectPath.split('/').pop() ?? projectPath, path: projectPath.split('/').pop() ?? projectPath };
      return { status: 200, body: { ...body, path_with_namespace: projectPath, default_branch: state.defaultBranch } };
    }
    const input = { ...Object.fromEntries(req.query), ...(typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {}) };
    for (const r of routes) {
      const params = matchRoute(r, req.method, rest);
      if (params) return r.handle({ req, params, query: req.query, input, state } satisfies Ctx);
    }
    return { status: 404, body: { error: '404 Not Found' } };
  };

  const http = await startHttpFake(handle);
  site.root = http.url;
  const pipeline = (id: string) => {
    const found = state.pipelines.find((p) => String(p.id) === id);
    if (!found) throw new Error(`fake GitLab: no pipeline ${id}`);
    return found;
  };

  return {
    url: http.url,
    http,
    token,
    projectPath,
    projectId,
    state,
    commit: async (branch, message, files, author) => state.commitOn(branch, message, files, author),
    setCommitState: async (sha, outcome) => {
      const status = outcome === 'success' ? 'success' : outcome === 'failure' ? 'failed' : 'running';
      state.setPipelineStatus(state.createPipeline(sha, state.refOf(sha), 'push'), status);
    },
    mergedChange: async (title, opts = {}) => state.seedMergedChange(title, opts.labels ?? [], opts.author ?? 'dev'),
    finishPipeline: async (id, status) => state.setPipelineStatus(pipeline(id), status),
    runRunners(afterMs) {
      const timer = setInterval(() => {
        for (const p of state.pipelines) {
          if (p.source === 'api' && ['created', 'pending', 'running'].includes(p.status) && Date.now() - Date.parse(p.createdAt) >= afterMs) state.setPipelineStatus(p, 'success');
        }
      }, 150);
      return () => clearInterval(timer);
    },
    pipelineVariables: async (id) => Object.fromEntries(pipeline(id).variables.map((v) => [v.key, v.value])),
    notes: async (iid) => (state.notes.get(iid) ?? []).map((n) => n.body),
    close: () => http.close(),
  };
}
