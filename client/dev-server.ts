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

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'error', ...searchAttributeFlags()];
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-ip', '127.0.0.1');
  if (options.uiPort && options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  if (!options.uiPort) args.push('--headless');
  for (const value of options.dynamicConfig ?? []) args.push('--dynamic-config-value', value);

  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await isListening(options.port))) {
    if (child.exitCode !== null) {
      throw new Error(`the Temporal dev server exited with ${child.exitCode} at start:\n${output.trim()}\nIs port ${options.port} in use? Another Trainyard may be running.`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Temporal dev server did not listen on port ${options.port} within ${options.startTimeoutMs ?? 60_000} ms:\n${output.trim()}`);
    }
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
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the Temporal dev server on port ${options.port} did not become ready: ${(err as Error).message}\n${output.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
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
