/**
 * `npm start` as a newcomer runs it: its entry point (dist/client/start.js, what the script runs
 * after setup and build) as a child process with its own data folder and ports. Checked as a person
 * would: the banner, the Temporal UI it prints answering, the UI's own API listing the demo train
 * with its search attributes, `trainyard promote` through the built CLI taking the train to
 * production (the production process answers the new version), Ctrl-C (SIGINT) stopping every
 * process it started, and a second start saying what it resumed.
 *
 * The README's shell commands run here as a newcomer types them (test/helpers/readme.ts), with only
 * these substitutions: `npx trainyard` is the built bin, `temporal` the CLI `npm run setup` built,
 * the demo's default ports are this test's, a train id placeholder (`'…'` or the example id) is the
 * real train, and the example freeze's `until` is a day from now.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isListening } from '../../client/dev-server.js';
import { temporalCliPath } from '../../client/toolchain.js';
import { projectRoot } from '../../workers/bundle.js';
import { pollUntil } from '../helpers/poll.js';
import { readmeBlock } from '../helpers/readme.js';

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

interface Ran {
  command: string;
  code: number;
  output: string;
}

/** A README command, with this test's substitutions (see the top of the file), through bash. */
async function readme(command: string, trainId: string): Promise<Ran> {
  const line = command
    .replaceAll('npx trainyard ', `${process.execPath} ${join(root, 'bin', 'trainyard.js')} `)
    .replace(/^temporal /, `${temporalCliPath()} `)
    .replaceAll('18082', String(ports.production))
    .replaceAll('18081', String(ports.staging))
    .replaceAll(/'(train\/demo\/demo\/v[\d.]+|…)'/g, `'${trainId}'`)
    .replace(/"until": "[^"]+"/, `"until": "${new Date(Date.now() + 86_400_000).toISOString()}"`);
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', line], { env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`, TEMPORAL_NAMESPACE: 'default' } });
    return { command, code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { command, code: e.code, output: e.stdout + e.stderr };
  }
}

/** What says the README's command itself is wrong (a renamed flag, update, query or field), not the train's rules. */
const COMMAND_WRONG = /unknown (flag|command|shorthand)|flag provided but not defined|no (registered )?handler|unknown (update|query)|not found|invalid character|cannot unmarshal|usage:/i;

/** The README's `temporal workflow …` command that sends `name` (to `target`, a train when absent; with `containing` when given). */
function temporalCommand(block: string[], name: string, options: { target?: string; containing?: string; without?: string } = {}): string {
  const { target, containing, without } = options;
  const found = block
    .filter((c) => c.includes(`--name ${name} `) || c.endsWith(`--name ${name}`))
    .filter((c) => (target ? c.includes(`'${target}'`) : !c.includes("'env/")))
    .filter((c) => (containing ? c.includes(containing) : true) && (without ? !c.includes(without) : true));
  if (found.length === 0) throw new Error(`the README has no \`temporal workflow … --name ${name}\`${target ? ` for ${target}` : ''}${containing ? ` with ${containing}` : ''}`);
  return found[0]!;
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

    // The release slot is tomorrow at 11:00 New York time: a release manager acts by hand, here
    // with the README's `temporal workflow …` commands, in an order where each reaches the train's
    // (or the ledger's) rules: every one is accepted or refused by a rule, none is wrong as written.
    await printed(first, /\[train\] .*awaiting-release/, 'the train to wait for its release time');
    const block = readmeBlock('temporal workflow update');
    const send = async (name: string, options: Parameters<typeof temporalCommand>[2] = {}, id = trainId!) => {
      const ran = await readme(temporalCommand(block, name, options), id);
      expect(ran.output, ran.command).not.toMatch(COMMAND_WRONG);
      return ran;
    };
    const ENV = { target: 'env/demo/production' };
    const freeze = await send('freeze', ENV);
    expect(freeze.code, freeze.output).toBe(0);
    const frozenPromote = await send('promote', { without: 'overrideFreeze' });
    expect(frozenPromote.code).not.toBe(0);
    expect(frozenPromote.output).toMatch(/production is frozen by alice: incident 42/);
    // A rule's refusal reads as one, not as a retryable error.
    expect(frozenPromote.output).toContain('(type: REJECTED, retryable: false)');
    const retry = await send('retryDeploy');
    expect(retry.code).not.toBe(0);
    expect(retry.output).toMatch(/not waiting for retryDeploy|failed deploy/i);
    const rerun = await send('rerunE2E');
    expect(rerun.code).not.toBe(0);
    expect(rerun.output).toMatch(/E2E/);
    await send('regenerateChangelog');
    const statusQueryCommand = block.find((c) => c.startsWith('temporal workflow query') && c.includes('--name status'))!;
    const status = await readme(statusQueryCommand, trainId!);
    expect(status.code, status.output).toBe(0);
    expect(status.output).toContain(tag);
    const ledger = await readme(block.find((c) => c.includes("'env/demo/production'") && c.includes('--name ledger'))!, trainId!);
    expect(ledger.code, ledger.output).toBe(0);
    expect(ledger.output).toContain('incident 42');
    const rollback = await send('rollback', ENV);
    expect(rollback.code).not.toBe(0); // nothing verified runs there yet to go back to
    // The override promote goes through the freeze (the demo has no operators: anyone may).
    const override = await send('promote', { containing: 'overrideFreeze' });
    expect(override.code, override.output).toBe(0);
    const unfreeze = await send('unfreeze', ENV);
    expect(unfreeze.code, unfreeze.output).toBe(0);
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

    // The next train, as the output says; the README's abort ends it; the one after goes out the
    // README's quick-start way (promote, status, the production process's version).
    const cutNext = async () => {
      // The command as the second start printed it, copied as a newcomer would.
      const printedCut = /Cut the next train with: (.+)$/m.exec(second.output())?.[1];
      expect(printedCut).toMatch(/^npx trainyard start demo /);
      const cut = await readme(printedCut!, trainId!);
      expect(cut.code, cut.output).toBe(0);
      const id = /started (train\/demo\/\S+)/.exec(cut.output)?.[1];
      expect(id, cut.output).toBeDefined();
      await pollUntil(`${id} to wait for its release time`, async () => {
        const q = await readme(statusQueryCommand, id!);
        return q.code === 0 && q.output.includes('"awaiting-release"');
      }, { timeoutMs: 90_000 });
      return id!;
    };
    const aborted = await cutNext();
    const abort = await send('abort', {}, aborted);
    expect(abort.code, abort.output).toBe(0);
    const next = await cutNext();
    const quickStart = readmeBlock('npx trainyard promote');
    const [promoteNow, statusNow, curlNow, ...rest] = quickStart;
    expect(rest).toEqual([]);
    expect(promoteNow).toMatch(/^npx trainyard promote demo /);
    const promotedNext = await readme(promoteNow!, next);
    expect(promotedNext.code, promotedNext.output).toBe(0);
    expect(promotedNext.output).toContain(`promote ${next}`);
    const shown = await readme(statusNow!, next);
    expect(shown.code, shown.output).toBe(0);
    expect(shown.output).toContain(next);
    const nextTag = next.slice('train/demo/'.length);
    await pollUntil('production to run the promoted train', async () => (await readme(curlNow!, next)).output.includes(nextTag), { timeoutMs: 90_000 });
    expect(await stop(second)).toBe(0);
    expect(await openPorts()).toEqual([]);
  });
});
