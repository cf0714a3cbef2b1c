/**
 * A fake GitHub REST API on loopback, stateful and strict where GitHub is: token auth (401 "Bad
 * credentials"), rate-limit headers on every answer and a primary limit that runs out, ETags with 304s
 * that cost nothing (counted apart), GitHub's pagination and Link headers, its error bodies, and
 * answers typed with the official REST description (github-shapes.ts). One repository per fake.
 *
 * Tests seed it as people and CI would (commits, check runs, merged pull requests, finished runs) and
 * then talk to it only through the forge.
 */
import { createHash, randomUUID } from 'node:crypto';
import { startHttpFake, type FakeRequest, type FakeResponse, type HttpFake } from './http-fake.js';
import { iso, person } from './github-git.js';
import { actionRoutes } from './github-routes-actions.js';
import { gitRoutes, type Route } from './github-routes-git.js';
import { pullRoutes } from './github-routes-pulls.js';
import { fail, notFound, type Site } from './github-shapes.js';
import { FakeState, type FakePull, type FakeRun } from './github-state.js';

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  token?: string;
  defaultBranch?: string;
  /** Requests per window (GitHub: 5,000 an hour for a token). */
  rateLimit?: number;
  rateWindowSeconds?: number;
}

export interface FakeGitHub {
  /** The API root: give it to GitHubForge as apiUrl. */
  url: string;
  http: HttpFake;
  token: string;
  /** owner/name */
  repository: string;
  defaultBranch: string;
  state: FakeState;
  /** Adds a commit to `branch` (created from the default branch when missing); null deletes a file. */
  commit(branch: string, message: string, files?: Record<string, string | null>, author?: string): string;
  /** What CI says about a commit: a check run named `ci`, a commit status with context `ci`, or both. */
  setCommitState(sha: string, state: 'success' | 'failure' | 'pending', via?: 'check' | 'status' | 'both'): void;
  /** A pull request from a fresh branch with one commit, merged with a merge commit. */
  mergedChange(title: string, opts?: { labels?: string[]; author?: string }): { number: number; mergeCommit: string };
  startRun(id: string): void;
  /** The run waits for approval of a deployment to `environment` (GitHub's manual step). */
  waitForApproval(id: string, environment: string): void;
  finishRun(id: string, outcome: 'success' | 'failed'): void;
  runInputs(id: string): Record<string, string>;
  /** GitHub's runners: every queued run starts, runs `forMs`, and succeeds. Returns the stop. */
  runRunners(forMs: number): () => void;
  comments(number: number): string[];
  counters: {
    /** Every request that reached the API (faults injected by `http` are not counted). */
    requests: number;
    /** Conditional requests answered 304: free under GitHub's rate limit. */
    notModified: number;
    /** Requests that counted against the rate limit. */
    counted: number;
  };
  rate: { limit: number; used: number; reset: number };
  close(): Promise<void>;
}

const DEFAULT_TOKEN = 'ghp_FAKEtoken0123456789abcdefghijklmnopqr';

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const owner = options.owner ?? 'acme';
  const repo = options.repo ?? 'api';
  const token = options.token ?? DEFAULT_TOKEN;
  const window = options.rateWindowSeconds ?? 3600;
  const state = new FakeState(options.defaultBranch ?? 'main', owner);
  const counters = { requests: 0, notModified: 0, counted: 0 };
  const rate = { limit: options.rateLimit ?? 5000, used: 0, reset: Math.floor(Date.now() / 1000) + window };
  const routes: Route[] = [...gitRoutes, ...pullRoutes, ...actionRoutes];
  const site: Site = { api: '', web: 'https://github.test', owner, repo, state };

  const rateHeaders = (): Record<string, string> => ({
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(Math.max(0, rate.limit - rate.used)),
    'x-ratelimit-reset': String(rate.reset),
    'x-ratelimit-used': String(rate.used),
    'x-ratelimit-resource': 'core',
    'x-github-api-version-selected': '2022-11-28',
    'x-github-request-id': randomUUID().toUpperCase(),
  });

  const dispatch = (req: FakeRequest): FakeResponse => {
    const prefix = `/repos/${owner}/${repo}`;
    if (req.path.toLowerCase() !== prefix.toLowerCase() && !req.path.toLowerCase().startsWith(`${prefix.toLowerCase()}/`)) return notFound();
    const sub = req.path.slice(prefix.length);
    for (const r of routes) {
      const m = r.method === req.method ? r.pattern.exec(sub) : null;
      if (m) return r.handle(req, m.slice(1).map((p) => decodeURIComponent(p ?? '')), site);
    }
    return notFound();
  };

  const handler = (req: FakeRequest): FakeResponse => {
    counters.requests += 1;
    const auth = /^(?:token|bearer) (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (auth?.[1] !== token) return withHeaders(fail(401, 'Bad credentials'), rateHeaders());
    const now = Math.floor(Date.now() / 1000);
    if (now >= rate.reset) Object.assign(rate, { used: 0, reset: now + window });
    if (rate.used >= rate.limit) return withHeaders(fail(403, 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.'), rateHeaders());
    const response = dispatch(req);
    const headers: Record<string, string> = {};
    if (req.method === 'GET' && response.status === 200) {
      const etag = `W/"${createHash('sha1').update(JSON.stringify(response.body ?? null)).update(response.headers?.link ?? '').digest('hex')}"`;
      headers.etag = etag;
      const asked = String(req.headers['if-none-match'] ?? '').split(',').map((t) => t.trim());
      if (asked.includes(etag)) {
        counters.notModified += 1;
        return withHeaders({ status: 304 }, { ...rateHeaders(), etag });
      }
    }
    counters.counted += 1;
    rate.used += 1;
    return withHeaders(response, { ...rateHeaders(), ...headers });
  };

  const http = await startHttpFake(handler);
  site.api = http.url;

  const run = (id: string): FakeRun => {
    const found = state.runs.get(Number(id));
    if (!found) throw new Error(`fake GitHub: no run ${id}`);
    return found;
  };

  return {
    url: http.url,
    http,
    token,
    repository: `${owner}/${repo}`,
    defaultBranch: state.defaultBranch,
    state,
    commit: (branch, message, files = {}, author = 'octocat') => state.git.commitOn(branch, message, files, person(author), author, state.defaultBranch),
    setCommitState(sha, value, via = 'check') {
      const now = iso();
      if (via !== 'status') {
        const done = value !== 'pending';
        state.checkRuns.push({ id: state.nextId(), sha, name: 'ci', status: done ? 'completed' : 'in_progress', conclusion: done ? value : null, startedAt: now, completedAt: done ? now : null });
      }
      if (via !== 'check') state.statuses.push({ id: state.nextId(), sha, context: 'ci', state: value, createdAt: now });
    },
    mergedChange(title, opts = {}) {
      const author = opts.author ?? 'octocat';
      const number = state.nextIssueNumber();
      const branch = `change-${number}`;
      const head = state.git.commitOn(branch, title, { [`changes/${number}.txt`]: `${title}\n` }, person(author), author, state.defaultBranch);
      const now = iso();
      const base = state.git.refs.get(`refs/heads/${state.defaultBranch}`) ?? '';
      const pr: FakePull = { number, id: state.nextId(), title, body: null, state: 'open', head: branch, base: state.defaultBranch, headSha: head, baseSha: base, user: author, createdAt: now, updatedAt: now, closedAt: null, mergedAt: null, mergeCommit: null };
      state.pulls.set(number, pr);
      if (opts.labels) state.addLabels(number, opts.labels);
      const merged = state.merge(pr, 'merge', author);
      if (merged === 'conflict') throw new Error(`fake GitHub: ${title} does not merge`);
      return { number, mergeCommit: merged };
    },
    startRun: (id) => void Object.assign(run(id), { status: 'in_progress', updatedAt: iso() }),
    waitForApproval(id, environment) {
      const r = run(id);
      r.pending.push({ id: state.nextId(), name: environment });
      Object.assign(r, { status: 'waiting', updatedAt: iso() });
    },
    finishRun: (id, outcome) => state.finishRun(run(id), outcome === 'success' ? 'success' : 'failure'),
    runInputs: (id) => ({ ...run(id).inputs }),
    runRunners(forMs) {
      const startedAt = new Map<number, number>();
      const timer = setInterval(() => {
        for (const r of state.runs.values()) {
          if (r.status === 'queued') {
            Object.assign(r, { status: 'in_progress', updatedAt: iso() });
            startedAt.set(r.id, Date.now());
          } else if (r.status === 'in_progress' && Date.now() - (startedAt.get(r.id) ?? 0) > forMs) {
            state.finishRun(r, 'success');
          }
        }
      }, 200);
      return () => clearInterval(timer);
    },
    comments: (number) => (state.comments.get(number) ?? []).map((c) => c.body),
    counters,
    rate,
    close: () => http.close(),
  };
}

function withHeaders(response: FakeResponse, headers: Record<string, string>): FakeResponse {
  return { ...response, headers: { ...headers, ...response.headers } };
}
