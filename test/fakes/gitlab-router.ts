/**
 * Routing and GitLab's response conventions for the fake: path patterns over URL-encoded segments
 * (a project path, a file path or a tag with slashes is one encoded segment), `{"message": ...}` error
 * bodies, and offset pagination with GitLab's headers and `Link`.
 */
import type { FakeRequest, FakeResponse } from './http-fake.js';
import type { FakeGitLabState } from './gitlab-state.js';

export interface Ctx {
  req: FakeRequest;
  params: Record<string, string>;
  query: URLSearchParams;
  /** JSON body fields (Gitbeaker sends JSON); query parameters count too, as they do for GitLab. */
  input: Record<string, unknown>;
  state: FakeGitLabState;
}

export interface Route {
  method: string;
  segments: string[];
  handle: (ctx: Ctx) => FakeResponse;
}

export function route(method: string, pattern: string, handle: (ctx: Ctx) => FakeResponse): Route {
  return { method, segments: pattern.split('/'), handle };
}

/** Params of a matching route (decoded), or undefined. */
export function matchRoute(route: Route, method: string, segments: string[]): Record<string, string> | undefined {
  if (route.method !== method || route.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const want = route.segments[i] as string;
    const got = decodeURIComponent(segments[i] as string);
    if (want.startsWith(':')) params[want.slice(1)] = got;
    else if (want !== got) return undefined;
  }
  return params;
}

export const ok = (body: unknown, status = 200): FakeResponse => ({ status, body });
export const fail = (status: number, message: unknown): FakeResponse => ({ status, body: { message } });

export function text(ctx: Ctx, name: string): string | undefined {
  const value = ctx.input[name];
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

export function flag(ctx: Ctx, name: string): boolean {
  const value = ctx.input[name];
  return value === true || value === 'true';
}

/** GitLab's offset pagination: per_page (default 20, at most 100), page, x-* headers and Link. */
export function paginate<T>(ctx: Ctx, items: T[]): FakeResponse {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page')) || 20));
  const page = Math.max(1, Number(ctx.query.get('page')) || 1);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number, rel: string) => {
    const query = new URLSearchParams(ctx.query);
    query.set('page', String(p));
    query.set('per_page', String(perPage));
    return `<${ctx.state.site.root}${ctx.req.path}?${query.toString()}>; rel="${rel}"`;
  };
  const links = [page > 1 ? link(page - 1, 'prev') : '', page < totalPages ? link(page + 1, 'next') : '', link(1, 'first'), link(totalPages, 'last')];
  const headers: Record<string, string> = {
    'x-page': String(page),
    'x-per-page': String(perPage),
    'x-total': String(items.length),
    'x-total-pages': String(totalPages),
    'x-next-page': page < totalPages ? String(page + 1) : '',
    'x-prev-page': page > 1 ? String(page - 1) : '',
    link: links.filter(Boolean).join(', '),
  };
  return { status: 200, body: items.slice((page - 1) * perPage, page * perPage), headers };
}

/** `order_by` / `sort` on a field holding an ISO date or a number. */
export function sortBy<T>(items: T[], key: (item: T) => string | number, sort: string | null): T[] {
  const sign = sort === 'asc' ? 1 : -1;
  return [...items].sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0));
}
