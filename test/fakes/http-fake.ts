/**
 * The common part of the fake forges and of the fake Slack: a real HTTP server on loopback with a
 * request log (to count API calls) and fault injection (to prove what is retried and what is not).
 * Each fake adds its routes and its state; nothing here knows GitHub, GitLab or Slack.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (or form fields), undefined when there was none. */
  body: unknown;
  rawBody: string;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One injected fault, taken by the next request that matches. `status` answers with that status
 * (and `headers`/`body`); `delayMs` holds the answer that long (past the client's timeout); `malformed`
 * answers 200 with a body that is not JSON; `reset` destroys the connection.
 */
export interface Fault {
  match?: (req: FakeRequest) => boolean;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  delayMs?: number;
  malformed?: boolean;
  reset?: boolean;
  /** How many requests it applies to (default 1). */
  times?: number;
  /**
   * The request is served first (its writes happen) and then its answer is lost: replaced by the
   * fault (a gateway's 502/504, a reset, an answer too late, a mangled body). The case that makes a
   * retried write a duplicate.
   */
  after?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  /** Headers as received, for assertions on auth and conditional requests. */
  headers: IncomingMessage['headers'];
}

export interface HttpFake {
  url: string;
  /** Every request served, in order (including faulted ones). */
  log: LoggedRequest[];
  inject(fault: Fault): void;
  /** Faults at a rate: each request fails with probability `rate`, drawing from `faults` (seeded). */
  chaos(rate: number, faults: Omit<Fault, 'times' | 'match'>[], seed?: number): void;
  /** Faults served so far (injected or by chaos), and how many of them lost the answer of a served request. */
  readonly faultCounts: { faults: number; lostAnswers: number };
  close(): Promise<void>;
}

export type Handler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/** A small deterministic PRNG (mulberry32), so chaos runs are repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (!raw) return undefined;
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export async function startHttpFake(handler: Handler): Promise<HttpFake> {
  const faults: Fault[] = [];
  const log: LoggedRequest[] = [];
  let chaos: { rate: number; faults: Omit<Fault, 'times' | 'match'>[]; random: () => number } | undefined;

  const send = (res: ServerResponse, r: FakeResponse) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body === undefined || r.status === 204 || r.status === 304) {
      res.writeHead(r.status, headers);
      res.end();
      return;
    }
    headers['content-type'] ??= 'application/json; charset=utf-8';
    res.writeHead(r.status, headers);
    res.end(typeof r.body === 'string' && !headers['content-type'].includes('json') ? r.body : JSON.stringify(r.body));
  };

  const counts = { faults: 0, lostAnswers: 0 };
  const answer = async (request: FakeRequest): Promise<FakeResponse> => {
    try {
      return await handler(request);
    } catch (err) {
      return { status: 500, body: { message: `fake server bug: ${(err as Error).stack}` } };
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: parseBody(raw, req.headers['content-type']), rawBody: raw };
      const entry: LoggedRequest = { method: request.method, path: request.path, query: url.search, status: 0, headers: req.headers };
      log.push(entry);

      let fault: Omit<Fault, 'times' | 'match'> | undefined;
      const index = faults.findIndex((f) => !f.match || f.match(request));
      if (index >= 0) {
        const f = faults[index] as Fault;
        fault = f;
        f.times = (f.times ?? 1) - 1;
        if (f.times <= 0) faults.splice(index, 1);
      } else if (chaos && chaos.faults.length > 0 && chaos.random() < chaos.rate) {
        fault = chaos.faults[Math.floor(chaos.random() * chaos.faults.length)];
      }
      if (fault) counts.faults++;
      let served: FakeResponse | undefined;
      if (fault?.after) {
        served = await answer(request);
        counts.lostAnswers++;
      }
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.reset) {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault?.malformed) {
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"this is": not json');
        return;
      }
      if (fault?.status) {
        entry.status = fault.status;
        send(res, { status: fault.status, body: fault.body ?? { message: `injected ${fault.status}` }, ...(fault.headers ? { headers: fault.headers } : {}) });
        return;
      }
      const response = served ?? (await answer(request));
      entry.status = response.status;
      if (!res.destroyed) send(res, response);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    inject: (f) => faults.push({ ...f }),
    faultCounts: counts,
    chaos(rate, list, seed = 1) {
      chaos = { rate, faults: list, random: prng(seed) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
