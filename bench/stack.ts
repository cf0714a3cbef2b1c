/**
 * One measuring stack: a fresh Temporal dev server (the cached CLI from `npm run setup`, a new
 * SQLite file in a temp folder, a free port), a client, and the bench's worker process. Each phase
 * gets its own stack, so one phase's workflows never load another's figures.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDevServer, type DevServer } from '../client/dev-server.js';
import { WorkerChild } from './worker-child.js';

export interface Stack {
  server: DevServer;
  connection: Connection;
  client: Client;
  worker: WorkerChild;
}

/** Bundles the baseline workflows (compiled next to this file) once per run; returns the file. */
export async function buildBaselineBundle(outDir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, 'workflows', 'index.js'), logger: new DefaultLogger('WARN') });
  const file = join(outDir, 'baseline-bundle.js');
  writeFileSync(file, code);
  return file;
}

let tempDirs: string[] = [];

/**
 * Where the dev server keeps its SQLite database. `tmpfs` (the default): a file in /dev/shm, so
 * the figures are Trainyard's and not the disk's fsyncs (on a shared VM disk those dominate
 * everything); `disk`: a file in the OS temp folder; `memory`: SQLite in memory.
 */
export type DbKind = 'tmpfs' | 'disk' | 'memory';

export function dbFileFor(db: DbKind): string | undefined {
  if (db === 'memory') return undefined;
  const base = db === 'tmpfs' && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'trainyard-bench-'));
  tempDirs.push(dir);
  return join(dir, 'temporal.db');
}

/**
 * A fresh dev server on a free port. Other engineers start servers on this machine too, so a port
 * found free can be taken before the server binds it: try again on another.
 */
export async function startServer(db: DbKind, attempts = 3): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    const dbFile = dbFileFor(db);
    try {
      return await startDevServer({ ...(dbFile ? { dbFile } : {}), port: await freePort() });
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
  }
}

export async function startStack(baselineBundle: string, db: DbKind): Promise<Stack> {
  const server = await startServer(db);
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await WorkerChild.start(server.address, baselineBundle);
    return { server, connection, client, worker };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export async function stopStack(stack: Stack): Promise<void> {
  await stack.worker.stop().catch(() => undefined);
  await stack.connection.close().catch(() => undefined);
  await stack.server.stop();
}

/** Runs `body` on a fresh stack and always tears it down. */
export async function withStack<T>(baselineBundle: string, db: DbKind, body: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack(baselineBundle, db);
  try {
    return await body(stack);
  } finally {
    await stopStack(stack);
  }
}

export function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs = [];
}
