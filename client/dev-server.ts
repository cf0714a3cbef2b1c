/**
 * The embedded default: a Temporal dev server (with its Web UI) started from the CLI that
 * `npm run setup` installed, persisting to a SQLite file, with Trainyard's search attributes.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname } from 'node:path';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { temporalCliPath } from './toolchain.js';

export interface DevServerOptions {
  /** SQLite file; absent means in-memory (tests). */
  dbFile?: string;
  port: number;
  uiPort?: number;
  /** A codec server the Web UI asks to decode encrypted payloads (`trainyard codec-server`). */
  uiCodecEndpoint?: string;
  /** Extra `--dynamic-config-value` entries, e.g. `frontend.enableUpdateWorkflowExecution=true`. */
  dynamicConfig?: string[];
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function searchAttributeFlags(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

/** The Web UI on `uiPort` (decoding through the codec endpoint when one is given); none without a port. */
export function uiFlags(options: Pick<DevServerOptions, 'uiPort' | 'uiCodecEndpoint'>): string[] {
  if (!options.uiPort) return ['--headless'];
  const flags = ['--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1'];
  return options.uiCodecEndpoint ? [...flags, '--ui-codec-endpoint', options.uiCodecEndpoint] : flags;
}

/** The dev server did not start; `exited`: its process ended by itself (a port taken, say), rather than being too slow. */
export class DevServerStartError extends Error {
  constructor(
    message: string,
    readonly exited: boolean,
  ) {
    super(message);
  }
}

/** Waits until the frontend serves clients and, with a UI port, the Web UI listens; kills the server if not. */
async function untilReady(child: ChildProcess, options: DevServerOptions, output: () => string): Promise<void> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const fail = (what: string) => {
    const exited = child.exitCode !== null;
    child.kill('SIGKILL');
    return new DevServerStartError(`${what}:\n${output().trim()}`, exited);
  };
  while (!(await isListening(options.port))) {
    if (child.exitCode !== null) {
      throw new DevServerStartError(`the Temporal dev server exited with ${child.exitCode} at start:\n${output().trim()}\nIs port ${options.port} (or ${options.uiPort ?? 'its UI port'}) in use? Another Trainyard may be running.`, true);
    }
    if (Date.now() > deadline) throw fail(`the Temporal dev server did not listen on port ${options.port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Listening is not serving: the frontend answers "not healthy yet" for a moment (longer on a
  // busy machine). Ready means a client can connect (the SDK's connect calls GetSystemInfo).
  for (;;) {
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${options.port}`, connectTimeout: '2s' });
      await connection.close();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) throw fail(`the Temporal dev server on port ${options.port} did not become ready: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // The UI is served by the same process on its own port: printed means answering.
  while (options.uiPort && !(await isListening(options.uiPort))) {
    if (child.exitCode !== null || Date.now() > deadline) throw fail(`the Temporal dev server's Web UI did not listen on port ${options.uiPort} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error', ...searchAttributeFlags()];
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  args.push(...uiFlags(options));
  for (const value of options.dynamicConfig ?? []) args.push('--dynamic-config-value', value);

  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The start of what it printed (a panic's reason) and the end (the latest lines).
  let head = '';
  let tail = '';
  let printed = 0;
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    printed += text.length;
    if (head.length < 1500) head += text.slice(0, 1500 - head.length);
    tail = (tail + text).slice(-2500);
  };
  const output = () => (printed <= tail.length ? tail : `${head}\n…\n${tail}`);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await untilReady(child, options, output);
  const server: DevServer = {
    address: `127.0.0.1:${options.port}`,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.uiPort) server.uiUrl = `http://localhost:${options.uiPort}`;
  return server;
}
