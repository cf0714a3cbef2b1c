/**
 * A feature flag's rollout (seed 001) end to end through the `trainyard flag` CLI, on the real dev
 * server with the real worker: a real program flips the flag per environment, a Prometheus-shaped
 * HTTP server on loopback answers the error-rate queries, and the clean-up merge request is opened
 * in a real git repository. One flag goes all the way to Mandatory; another breaches in staging and
 * is switched off there by the rollout itself.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagWorkflowId } from '../../domain/flag-rollout.js';
import { flagStatusQuery } from '../../workflows/flag-messages.js';
import { queryUntil } from '../helpers/poll.js';
import { LocalGitForge } from '../../activities/forge/local-git.js';
import type { FlagState } from '../../domain/flag-rollout.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { gitWork } from '../helpers/git-work.js';

let stack: DevStack;
let prometheus: Server;
let work: string;
let repo: string;
/** The error rate Prometheus reports, by the environment named in the query. */
const errorRate: Record<string, number> = {};
const queries: string[] = [];

const flagFile = (flag: string, env: string) => {
  try {
    return readFileSync(join(work, 'flags', `${flag}-${env}`), 'utf8').trim();
  } catch {
    return 'never set';
  }
};

async function cli(args: string[], code = 0): Promise<string> {
  const out = await stack.cli(args);
  expect(out.code, `trainyard ${args.join(' ')}: ${out.stdout}${out.stderr}`).toBe(code);
  return code === 0 ? out.stdout : out.stderr;
}

async function status(flag: string): Promise<FlagState> {
  return JSON.parse(await cli(['flag', 'status', flag, '--json'])) as FlagState;
}

/** Waits in-process (a CLI process per poll costs a second of CPU), then reads the state as a person would: `trainyard flag status`. */
async function until(flag: string, what: string, done: (s: FlagState) => boolean, timeoutMs = 90_000): Promise<FlagState> {
  await queryUntil(stack.client.workflow.getHandle(flagWorkflowId(flag)), flagStatusQuery, done, `flag ${flag} to be ${what}`, { timeoutMs, intervalMs: 200 });
  return status(flag);
}

function flagYaml(flag: string): string {
  const envs = ['dev', 'staging'].map(
    (env) => `
          - name: ${env}
            driver: { kind: command, command: [sh, -c, 'echo "$TRAINYARD_FLAG_STATE" > "$WORK/flags/$TRAINYARD_FLAG-$TRAINYARD_FLAG_ENVIRONMENT"'], env: { WORK: ${JSON.stringify(work)} } }
            health: { url: "http://127.0.0.1:${(prometheus.address() as AddressInfo).port}", query: 'sum(rate(errors{env="${env}"}[5m]))', threshold: 0.05, soakMinutes: 0.05, sampleSeconds: 1 }`,
  );
  return `
  ${flag}:
        maintainers: [jacob]
        operators: [oncall]
        environments:${envs.join('')}
        cleanup: { forge: gitaly, path: config/feature_flags.yml }`;
}

beforeAll(async () => {
  ({ work, repo } = gitWork('flags', { 'config/feature_flags.yml': 'new_blame: default_off\nbreaching_cache: default_off\nother_flag: default_on\n' }));
  mkdirSync(join(work, 'flags'));
  prometheus = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    queries.push(query);
    const env = /env="([a-z]+)"/.exec(query)?.[1] ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, String(errorRate[env] ?? 0.01)] }] } }));
  });
  await new Promise<void>((r) => prometheus.listen(0, '127.0.0.1', r));
  stack = await startDevStack(`
services:
  gitaly:
    forge: { kind: local-git, path: ${JSON.stringify(repo)} }
    environments:
      staging: { deploy: { kind: command, command: ["true"] } }
      production: { deploy: { kind: command, command: ["true"] } }
flags:${flagYaml('new_blame')}${flagYaml('breaching_cache')}
`);
});

afterAll(async () => {
  await stack?.stop();
  prometheus?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('feature-flag rollout through the CLI', () => {
  it('tests the flag environment by environment, needs a maintainer for Opt-in, reaches Mandatory and opens the clean-up request', { timeout: 180_000 }, async () => {
    expect(await cli(['flag', 'start', 'new_blame', '--as', 'jacob'])).toMatch(/^started flag\/new_blame \(by jacob\)/);
    expect(await cli(['flag', 'start', 'new_blame', '--as', 'jacob'], 1)).toMatch(/already rolling out/);
    const tested = await until('new_blame', 'both environments passed', (s) => s.environments.length === 2 && s.environments.every((e) => e.result === 'passed'));
    expect(tested.status).toBe('ready-for-testing');
    expect(tested.environments.map((e) => [e.name, e.before, e.after])).toEqual([
      ['dev', 0.01, 0.01],
      ['staging', 0.01, 0.01],
    ]);
    // The seed: each environment's test ends with the flag rolled back; Opt-in enables it everywhere.
    expect([flagFile('new_blame', 'dev'), flagFile('new_blame', 'staging')]).toEqual(['off', 'off']);
    expect(queries.some((q) => q.includes('env="staging"'))).toBe(true);

    // Opt-in: a maintainer, with the links the seed asks for.
    expect(await cli(['flag', 'approve', 'new_blame', '--reason', 'looks fine', '--as', 'oncall'], 1)).toMatch(/^approve rejected: .*maintainer/);
    expect(await cli(['flag', 'approve', 'new_blame', '--reason', 'looks fine', '--as', 'jacob'], 1)).toMatch(/^approve rejected: .*(dashboard|alerts|runbook)/);
    expect(
      await cli(['flag', 'approve', 'new_blame', '--reason', 'soaked in staging', '--as', 'jacob', '--dashboard', 'https://grafana.test/d/blame', '--alerts', 'https://alerts.test/blame', '--runbook', 'https://runbooks.test/blame']),
    ).toMatch(/approved flag\/new_blame \(by jacob: soaked in staging\); now opt-in/);
    await until('new_blame', 'enabled everywhere', (s) => s.environments.length === 2 && s.environments.every((e) => e.enabled));
    expect([flagFile('new_blame', 'dev'), flagFile('new_blame', 'staging')]).toEqual(['on', 'on']);

    // Without release dates, an operator advances: Opt-out, then Mandatory.
    expect(await cli(['flag', 'advance', 'new_blame', '--reason', 'no complaints', '--as', 'mallory'], 1)).toMatch(/rejected/);
    expect(await cli(['flag', 'advance', 'new_blame', '--reason', 'no complaints', '--as', 'oncall'])).toMatch(/now opt-out/);
    expect(await cli(['flag', 'advance', 'new_blame', '--reason', 'a release later', '--as', 'oncall'])).toMatch(/now mandatory/);
    const done = await until('new_blame', 'the clean-up request', (s) => s.cleanup !== undefined);
    expect(done.cleanup?.url).toBeTruthy();

    // The clean-up merge request removes the flag's line, and nothing else.
    const forge = new LocalGitForge(repo, 'main');
    const request = await forge.findOpenChangeRequest('trainyard/remove-flag-new_blame', 'main');
    expect(request).toMatchObject({ title: 'Remove feature flag new_blame', targetBranch: 'main', state: 'open' });
    expect(await forge.readFile('config/feature_flags.yml', 'trainyard/remove-flag-new_blame')).toBe('breaching_cache: default_off\nother_flag: default_on\n');
    expect(await cli(['flag', 'status', 'new_blame'])).toMatch(/flag\/new_blame: mandatory/);
  });

  it('a breach in staging switches the flag off there by itself and waits', { timeout: 180_000 }, async () => {
    errorRate.staging = 0.4;
    await cli(['flag', 'start', 'breaching_cache', '--as', 'jacob']);
    const failed = await until('breaching_cache', 'staging failed', (s) => s.environments.find((e) => e.name === 'staging')?.result === 'failed');
    expect(failed.environments.map((e) => e.result)).toEqual(['passed', 'failed']);
    expect(failed.environments.find((e) => e.name === 'staging')?.after).toBe(0.4);
    // Dev passed (and was rolled back after its test, as every test is); staging breached and was switched off.
    expect([flagFile('breaching_cache', 'dev'), flagFile('breaching_cache', 'staging')]).toEqual(['off', 'off']);
    expect(failed.status).toBe('ready-for-testing');
    expect(await cli(['flag', 'approve', 'breaching_cache', '--reason', 'ship it', '--as', 'jacob', '--dashboard', 'https://g.test', '--alerts', 'https://a.test', '--runbook', 'https://r.test'], 1)).toMatch(/rejected/);
    expect(await cli(['flag', 'abort', 'breaching_cache', '--reason', 'cache thrashes', '--as', 'oncall'])).toMatch(/aborted flag\/breaching_cache/);
    await until('breaching_cache', 'aborted and off everywhere', (s) => s.ended === 'aborted');
    expect([flagFile('breaching_cache', 'dev'), flagFile('breaching_cache', 'staging')]).toEqual(['off', 'off']);
  });
});
