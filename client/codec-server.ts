/**
 * The codec server: Temporal's remote codec protocol over HTTP, so the Web UI (and `temporal
 * --codec-endpoint`) can show payloads that the server stores only as ciphertext.
 *
 *   POST /encode, POST /decode   body and answer: {"payloads": [{"metadata": {"k": "<base64>"}, "data": "<base64>"}]}
 *
 * The browser calls it directly, so it answers CORS preflights for the UI's origin. It listens on
 * loopback only; anyone who can reach it can read every payload, so with TRAINYARD_CODEC_SERVER_TOKEN
 * set it also wants `Authorization: Bearer <token>` (for `temporal … --codec-auth 'Bearer …'`).
 *
 * To have the embedded dev server's UI use it, the dev server must be started with
 * `--ui-codec-endpoint http://127.0.0.1:<port>` (the UI reads that setting at start), e.g.
 *   temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8089 --db-filename .trainyard/temporal.db
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npm start          # uses that server instead of starting one
 *   npx trainyard codec-server --port 8089             # with the same TRAINYARD_CODEC_KEYS as the worker
 * On another cluster's UI, set the codec endpoint in the UI's settings (or its `codec.endpoint` config).
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Command, InvalidArgumentError } from 'commander';
import { declare } from './commands.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrainyardError } from '../domain/errors.js';
import { codecFromEnvironment } from '../workers/codec.js';
import { cliEnv, complain, say } from './terminal.js';

export const DEFAULT_CODEC_PORT = 8089;
export const DEFAULT_UI_ORIGIN = 'http://localhost:8233';
/** A payload is at most 2 MiB and base64 adds a third; a few of them per request. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins whose pages may call the server (the Web UI's). */
  uiOrigins: string[];
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  port?: number;
  host?: string;
}

export interface RunningCodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytesOf(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new BadRequest(400, `${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/** proto3 JSON → Payload: every bytes field (data and each metadata value) is base64. */
function fromJson(body: unknown): Payload[] {
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new BadRequest(400, 'expected a JSON body {"payloads": [...]}');
  return payloads.map((p: JsonPayload, i) => {
    if (!p || typeof p !== 'object') throw new BadRequest(400, `payloads[${i}] must be an object`);
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, value] of Object.entries(p.metadata ?? {})) metadata[key] = bytesOf(value, `payloads[${i}].metadata.${key}`);
    return { metadata, data: p.data === undefined ? new Uint8Array() : bytesOf(p.data, `payloads[${i}].data`) };
  });
}

function toJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v ?? new Uint8Array())])),
      data: b64(p.data ?? new Uint8Array()),
    })),
  };
}

/** Constant-time comparison of the presented token with the configured one (hashes: equal lengths). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function corsHeaders(req: IncomingMessage, origins: string[]): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || !origins.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest(400, 'request body is not JSON');
  }
}

async function answer(options: CodecServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const cors = corsHeaders(req, options.uiOrigins);
  const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...cors, ...extra, 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  // Preflights carry no credentials; the real request is checked below.
  if (req.method === 'OPTIONS') {
    res.writeHead(cors['Access-Control-Allow-Origin'] ? 204 : 403, cors);
    res.end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
  const op = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
  if (!op) return send(404, { error: 'unknown path: use POST /encode or POST /decode' });
  if (req.method !== 'POST') return send(405, { error: `use POST for /${op}` }, { Allow: 'POST, OPTIONS' });
  if (options.token !== undefined && !tokenMatches(req.headers.authorization, options.token)) {
    return send(401, { error: 'missing or wrong bearer token' }, { 'WWW-Authenticate': 'Bearer' });
  }
  try {
    const payloads = fromJson(await readBody(req));
    send(200, toJson(await options.codec[op](payloads)));
  } catch (err) {
    if (err instanceof BadRequest) return send(err.status, { error: err.message });
    // A payload that does not decrypt is the caller's data, not a server fault.
    if (err instanceof TrainyardError) return send(422, { error: err.describe() });
    send(500, { error: 'the codec failed; see the codec server log' });
    complain(`codec-server: ${(err as Error).message}`);
  }
}

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const server = createServer((req, res) => void answer(options, req, res));
  const host = options.host ?? '127.0.0.1';
  const wanted = options.port ?? DEFAULT_CODEC_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new TrainyardError('CONFIG_INVALID', `the codec server cannot listen on ${host}:${wanted} (${err.code ?? err.message})`, 'Is another codec server running? Choose another --port.')),
    );
    server.listen(wanted, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function portArg(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new InvalidArgumentError('must be a port number, 1-65535');
  return port;
}

function originArg(text: string, previous: string[] | undefined): string[] {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== text.replace(/\/$/, '')) {
    throw new InvalidArgumentError('must be an origin such as http://localhost:8233 (scheme, host and port; no path)');
  }
  return [...(previous ?? []), url.origin];
}

/** `trainyard codec-server`: serves the codec that TRAINYARD_CODEC_KEYS / _KEY_FILE configure. */
export function register(program: Command): void {
  declare(program, 'codec-server')
    .option('--port <port>', `port on 127.0.0.1 (default ${DEFAULT_CODEC_PORT})`, portArg)
    .option('--ui-origin <origin>', `origin of the Web UI allowed to call it, repeatable (default ${DEFAULT_UI_ORIGIN})`, originArg)
    .addHelpText(
      'after',
      `\nThe UI calls this server from the browser. Start the dev server with\n  temporal server start-dev --ui-codec-endpoint http://127.0.0.1:<port>\nor set the codec endpoint in the UI's settings. Set TRAINYARD_CODEC_SERVER_TOKEN to require\n"Authorization: Bearer <token>" (temporal CLI: --codec-endpoint … --codec-auth 'Bearer <token>').`,
    )
    .action(async (opts: { port?: number; uiOrigin?: string[] }) => {
      const codec = codecFromEnvironment();
      if (!codec) {
        throw new TrainyardError('CONFIG_INVALID', 'payload encryption is not configured', 'Set TRAINYARD_CODEC_KEYS (id:base64key, …) or TRAINYARD_CODEC_KEY_FILE to the keys the worker uses.');
      }
      const token = cliEnv().TRAINYARD_CODEC_SERVER_TOKEN || undefined;
      const uiOrigins = opts.uiOrigin ?? [DEFAULT_UI_ORIGIN];
      const running = await startCodecServer({ codec, uiOrigins, port: opts.port ?? DEFAULT_CODEC_PORT, ...(token ? { token } : {}) });
      say(`codec server on ${running.url} for ${uiOrigins.join(', ')}${token ? ' (bearer token required)' : ''}; encrypting with key "${codec.keyId}"`);
      say(`UI: temporal server start-dev --ui-codec-endpoint ${running.url}   CLI: temporal workflow show … --codec-endpoint ${running.url}`);
      // The listening server keeps the process alive until Ctrl-C.
    });
}
