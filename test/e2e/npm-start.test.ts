/**
 * `npm start` as a newcomer runs it: its entry point (dist/client/start.js, what the script runs
 * after setup and build) as a child process with its own data folder and ports. Checked as a person
 * would: the banner, the Temporal UI it prints answering, the UI's own API listing the demo train
 * with its search attributes, `trainyard promote` through the built CLI taking the train to
 * production (the production process answers the new version), Ctrl-C (SIGINT) stopping every
 * process it started, and a second start saying what it resumed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isListening } from '../../client/dev-server.js';
import { projectRoot } from '../../workers/bundle.js';
import { pollUntil } from '../helpers/poll.js';

const root = projectRoot();
const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-npm-start-'));
let ports: { temporal: number; ui: number; staging: number; production: number };
let env: NodeJS.ProcessEnv;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running: Started[] = [];

function start(): Started {
  const child = spawn(process.execPath, [join(root, 'dist', 'client', 'start.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, output: () => text, exited };
  running.push(started);
  return started;
}

/** Waits until the process printed `pattern`; fails with its output if it exits first. */
function printed(p: Started, pattern: RegExp, what: string, timeoutMs = 90_000): Promise<RegExpExecArray> {
  return pollUntil(
    what,
    () => {
      const match = pattern.exec(p.output());
      if (match) return match;
      if (p.child.exitCode !== null) throw new Exited(`npm start exited with ${p.child.exitCode} before ${what}:\n${p.output()}`);
      return undefined;
    },
    { timeoutMs, intervalMs: 100, stopOn: (err) => err instanceof Exited },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- npm start printed ---\n${p.output().slice(-3000)}`);
  });
}

class Exited extends Error {}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'trainyard.js'), ...args], { env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}` } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function stop(p: Started): Promise<number | null> {
  p.child.kill('SIGINT');
  return p.exited;
}

async function openPorts(): Promise<string[]> {
  const open: string[] = [];
  for (const [name, port] of Object.entries(ports)) if (await isListening(port)) open.push(`${name} (${port})`);
  return open;
}

beforeAll(async () => {
  ports = { temporal: await freePort(), ui: await freePort(), staging: await freePort(), production: await freePort() };
  env = { ...process.env };
  for (const key of ['TEMPORAL_ADDRESS', 'TEMPORAL_PROFILE', 'TEMPORAL_NAMESPACE', 'TRAINYARD_CONFIG', 'TRAINYARD_UI_CODEC_ENDPOINT']) delete env[key];
  Object.assign(env, {
    TRAINYARD_DATA_DIR: dataDir,
    TRAINYARD_TEMPORAL_PORT: String(ports.temporal),
    TRAINYARD_UI_PORT: String(ports.ui),
    TRAINYARD_DEMO_STAGING_PORT: String(ports.staging),
    TRAINYARD_DEMO_PRODUCTION_PORT: String(ports.production),
  });
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await stop(p);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the UI it prints, runs the demo train to production on promote, and stops everything on Ctrl-C', { timeout: 240_000 }, async () => {
    const first = start();
    const [, uiUrl] = await printed(first, /Trainyard is running; Temporal UI: (http:\/\/\S+)/, 'the banner');
    expect(uiUrl).toBe(`http://localhost:${ports.ui}`);
    const [, trainId] = await printed(first, /Started train (train\/demo\/\S+) /, 'the train it started');
    expect(first.output()).toContain(`in the UI:  ${uiUrl}/namespaces/default/workflows/${encodeURIComponent(trainId!)}`);

    // The UI answers, and its own API lists the train with its search attributes (the UI can start
    // answering 503 for a moment while it connects to the server).
    await pollUntil('the Temporal UI to answer 200', async () => (await fetch(uiUrl!)).status === 200, { intervalMs: 250 });
    const query = encodeURIComponent('TrainyardService = "demo" AND WorkflowType = "releaseTrain"');
    const listed = await pollUntil(
      "the UI's API to list the train",
      async () => {
        const res = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { executions?: { execution: { workflowId: string }; searchAttributes?: { indexedFields?: Record<string, { data: string }> } }[] };
        return body.executions?.find((e) => e.execution.workflowId === trainId);
      },
      { intervalMs: 250 },
    );
    const attribute = (name: string) => JSON.parse(Buffer.from(listed.searchAttributes?.indexedFields?.[name]?.data ?? '', 'base64').toString()) as unknown;
    expect(attribute('TrainyardService')).toBe('demo');
    const tag = attribute('TrainyardTag') as string;
    expect(tag).toMatch(/^demo\/v\d{4}\.\d{2}\.\d{2}\.1$/);

    // The release slot is tomorrow at 11:00 New York time: a release manager promotes it by hand.
    await printed(first, /\[train\] .*awaiting-release/, 'the train to wait for its release time');
    const promoted = await cli(['promote', 'demo', '--reason', 'E2E reviewed, ship it', '--as', 'newcomer']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain(`promote ${trainId} (by newcomer: E2E reviewed, ship it)`);
    await printed(first, new RegExp(`\\[train\\] ${trainId!.replaceAll('.', '\\.')} has ended \\(released\\)`), 'the train to be released');
    const version = (await (await fetch(`http://127.0.0.1:${ports.production}/version`)).json()) as { version: string };
    expect(version.version).toBe(tag);

    // Ctrl-C stops the worker, the dev server (and its UI) and the demo's environments.
    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('Stopped. `npm start` resumes where it was.');
    expect(await openPorts()).toEqual([]);

    // Started again: the train has ended and the branch has not moved, so nothing is cut.
    const second = start();
    await printed(second, /Trainyard is running; Temporal UI:/, 'the banner of the second start');
    const resumed = await printed(second, /Resumed nothing: train (\S+) has ended \(released\)/, 'what the second start resumed');
    expect(resumed[1]).toBe(trainId);
    expect(second.output()).toContain('Cut the next train with: npx trainyard start demo');
    expect(second.output()).not.toMatch(/Started train/);
    // The restarted production environment still runs the released version.
    const again = await pollUntil('production to answer again', async () => ((await fetch(`http://127.0.0.1:${ports.production}/version`).catch(() => undefined))?.json() as Promise<{ version: string }> | undefined));
    expect(again.version).toBe(tag);
    expect(await stop(second)).toBe(0);
    expect(await openPorts()).toEqual([]);
  });
});
