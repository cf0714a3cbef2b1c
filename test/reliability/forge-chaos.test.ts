/**
 * Whole trains while the forge misbehaves: GitHub and GitLab (the fakes on loopback) answer a share
 * of all requests with a fault, on the real dev server with the real worker. Half the faults happen
 * before the forge does anything (500, 502, 503, 429 with Retry-After, an answer too late, a body
 * that is not JSON, a dropped connection); the other half after it did the work, with the answer
 * lost on the way back (a gateway's 502 or 504, a reset, a timeout, a mangled body), which is what
 * turns a careless retry into a second tag, release or deploy run.
 *
 * Counted from the forges' own state and from Temporal: every train released, each environment got
 * exactly one run of each step (deploy staging, E2E, deploy production) and its tag points at the
 * train's commit with one release, each step was scheduled once in the train's history, each ledger
 * recorded the deployment once.
 *
 * FORGE_CHAOS_RATE (default 0.2), FORGE_CHAOS_TRAINS (per forge, default 4) and RELIABILITY_SEED
 * choose the run.
 */
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubForge } from '../../activities/forge/github.js';
import { GitLabForge } from '../../activities/forge/gitlab.js';
import type { Forge } from '../../activities/forge/forge.js';
import { ledgerId } from '../../domain/ids.js';
import type { TrainStatus } from '../../domain/train.js';
import { ledgerQuery } from '../../workflows/ledger-messages.js';
import { promoteUpdate } from '../../workflows/messages.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import type { Fault } from '../fakes/http-fake.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { until } from '../helpers/train-harness.js';
import { figures, report, scheduledSteps, type TrainTally } from './tally.js';
import { SEED } from './world.js';

const RATE = Number(process.env.FORGE_CHAOS_RATE ?? 0.2);
const TRAINS = Number(process.env.FORGE_CHAOS_TRAINS ?? 4);
/** The worker's forge clients give up on an answer after 1 s; "too late" faults take 1.5 s. */
const LATE = 1_500;

const FAULTS: Omit<Fault, 'times' | 'match'>[] = [
  { status: 500 },
  { status: 502 },
  { status: 503 },
  { status: 429, headers: { 'retry-after': '1' }, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' } },
  { delayMs: LATE },
  { malformed: true },
  { reset: true },
  { after: true, status: 502 },
  { after: true, status: 504 },
  { after: true, reset: true },
  { after: true, delayMs: LATE },
  { after: true, malformed: true },
];

let github: FakeGitHub;
let gitlab: FakeGitLab;
let stack: DevStack;
let client: Client;
let logs: string[];
let stopRunners: (() => void)[] = [];

const githubServices = Array.from({ length: TRAINS }, (_, i) => `hub${i + 1}`);
const gitlabServices = Array.from({ length: TRAINS }, (_, i) => `lab${i + 1}`);
const release = 'release: { timeZone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], time: "11:00", minLeadHours: 12 }';
/**
 * The default retries (10 s, 20 s, 40 s): a burst of faults must not use up a step's four attempts in
 * seconds (with a 1 s first retry a loaded run lost a GitLab train that way).
 */
const stepRetry = '';

function configYaml(): string {
  const hub = githubServices.map(
    (name) => `
  ${name}:
    forge: { kind: github, repository: ${github.repository}, apiUrl: "${github.url}", tokenEnv: CHAOS_GITHUB_TOKEN, defaultBranch: ${github.defaultBranch}, requestTimeoutSeconds: 1 }
    tagFormat: "${name}/v{yyyy}.{MM}.{dd}.{n}"
    ${release}
    e2e: { kind: github-actions, workflow: e2e.yml, inputs: { environment: "{environment}" }, pollSeconds: 1 }
    environments:
      staging: { deploy: { kind: github-actions, workflow: deploy.yml, inputs: { environment: staging, tag: "{tag}" }, pollSeconds: 1 } }
      production: { deploy: { kind: github-actions, workflow: deploy.yml, inputs: { environment: production, tag: "{tag}" }, pollSeconds: 1 } }
    notify: [{ kind: log }]
    ${stepRetry}`,
  );
  const lab = gitlabServices.map(
    (name) => `
  ${name}:
    forge: { kind: gitlab, project: ${gitlab.projectPath}, url: "${gitlab.url}", tokenEnv: CHAOS_GITLAB_TOKEN, requestTimeoutSeconds: 1 }
    tagFormat: "${name}/v{yyyy}.{MM}.{dd}.{n}"
    ${release}
    e2e: { kind: gitlab-pipeline, variables: { ENV: staging, TRIGGER_ID: e2e }, pollSeconds: 1 }
    environments:
      staging: { deploy: { kind: gitlab-pipeline, variables: { ENV: staging, VERSION: "{tag}" }, pollSeconds: 1 } }
      production: { deploy: { kind: gitlab-pipeline, variables: { ENV: production, VERSION: "{tag}" }, pollSeconds: 1 } }
    notify: [{ kind: log }]
    ${stepRetry}`,
  );
  return `services:${[...hub, ...lab].join('')}\n`;
}

beforeAll(async () => {
  github = await startFakeGitHub();
  github.commit(github.defaultBranch, 'Add the breach alerts page (#101)');
  gitlab = await startFakeGitLab();
  await gitlab.commit('main', 'feat: checkout v2 (See merge request group/app!41)');
  // The forges' runners: every run a train starts runs for a moment and succeeds.
  stopRunners = [github.runRunners(1_500), gitlab.runRunners(1_500)];

  process.env.CHAOS_GITHUB_TOKEN = github.token;
  process.env.CHAOS_GITLAB_TOKEN = gitlab.token;
  // Every fault makes the SDK log a failed activity attempt at WARN: hundreds of lines of noise here.
  stack = await startDevStack(configYaml(), { logLevel: 'ERROR' });
  ({ client, logs } = stack);
});

afterAll(async () => {
  for (const stop of stopRunners) stop();
  await stack?.stop();
  await github?.close();
  await gitlab?.close();
});

/** A train that ended, or stopped to wait for a person: either way the run is over for it. */
const settled = (s: TrainStatus) => ['released', 'rolled-back', 'failed', 'aborted'].includes(s.stage) || s.failedDeploy !== undefined;

async function runTrain(service: string): Promise<TrainStatus> {
  const cut = (await client.workflow.execute('cutRelease', { workflowId: `cut/${service}`, taskQueue: 'trainyard', args: [{ service, startedBy: 'release-bot' }] })) as { trainId: string };
  const handle = client.workflow.getHandle(cut.trainId);
  const waiting = await until(handle, (s) => s.stage === 'awaiting-release' || settled(s), 'awaiting-release', 240_000);
  if (waiting.stage === 'awaiting-release') {
    await handle.executeUpdate(promoteUpdate, { args: [{ by: 'sre', reason: 'E2E green' }] });
  }
  return until(handle, settled, 'released', 240_000);
}

/** What the forge did for one train, counted by step: each must be exactly 1. */
function runsOf(status: TrainStatus): Record<string, number> {
  const steps: Record<string, number> = {};
  const add = (step: string) => (steps[step] = (steps[step] ?? 0) + 1);
  if (githubServices.includes(status.service)) {
    for (const run of github.state.runs.values()) {
      if (run.headBranch !== status.tag) continue;
      const inputs = github.runInputs(String(run.id));
      add(run.path.endsWith('e2e.yml') ? 'e2e' : `deploy ${inputs.environment}`);
    }
  } else {
    for (const p of gitlab.state.pipelines) {
      if (p.ref !== status.tag || p.source !== 'api') continue;
      const vars = Object.fromEntries(p.variables.map((v) => [v.key, v.value]));
      add(vars.TRIGGER_ID === 'e2e' ? 'e2e' : `deploy ${vars.ENV}`);
    }
  }
  return steps;
}

async function tally(status: TrainStatus, forge: Forge): Promise<TrainTally> {
  const duplicates: string[] = [];
  const lost: string[] = [];
  if (status.stage !== 'released') lost.push(`ended ${status.stage}: ${status.failedDeploy?.error ?? status.error ?? status.waitingFor ?? ''}`);
  if (status.versions.staging !== status.tag || status.versions.production !== status.tag) lost.push(`runs ${JSON.stringify(status.versions)}, expected ${status.tag} in both`);
  const runs = runsOf(status);
  for (const step of ['deploy staging', 'e2e', 'deploy production']) {
    const n = runs[step] ?? 0;
    if (n === 0) lost.push(`no ${step} run`);
    if (n > 1) duplicates.push(`${step} ran ${n} times`);
  }
  if ((await forge.tagCommit(status.tag)) !== status.commit) lost.push(`tag ${status.tag} does not point at ${status.commit}`);
  const notes = await forge.getRelease(status.tag);
  if (!notes?.notes) lost.push(`no release notes for ${status.tag}`);
  for (const [step, n] of await scheduledSteps(client, status.trainId)) {
    if (n > 1 && step !== 'notify' && step !== 'signalLedger') duplicates.push(`${step} scheduled ${n} times`);
  }
  for (const env of ['staging', 'production'] as const) {
    const ledger = await client.workflow.getHandle(ledgerId(status.service, env)).query(ledgerQuery);
    const records = ledger.deployments.filter((d) => d.trainId === status.trainId && d.tag === status.tag).length;
    if (records !== 1) (records === 0 ? lost : duplicates).push(`the ${env} ledger records ${status.tag} ${records} times`);
    if (ledger.holder?.trainId === status.trainId) lost.push(`${status.trainId} still holds the ${env} lock`);
  }
  return { trainId: status.trainId, stage: status.stage, completed: status.stage === 'released', attempts: {}, deployments: runs, duplicates, lost };
}

describe('forge faults under whole trains', () => {
  it(`trains on GitHub and GitLab complete with ${RATE * 100} % of forge requests failing, and nothing is done twice`, { timeout: 420_000 }, async () => {
    // Besides the faults at random, every kind of write loses its answer at least once per run
    // (the first two dispatches or pipelines, the first tag and release of each forge).
    const lose = (fake: FakeGitHub | FakeGitLab, method: string, path: RegExp, times: number, fault: Omit<Fault, 'match' | 'times'>) =>
      fake.http.inject({ match: (r) => r.method === method && path.test(r.path), times, after: true, ...fault });
    lose(github, 'POST', /\/dispatches$/, 2, { status: 502 });
    lose(github, 'POST', /\/git\/refs$/, 1, { reset: true });
    lose(github, 'POST', /\/releases$/, 1, { delayMs: LATE });
    lose(gitlab, 'POST', /\/pipeline$/, 2, { status: 504 });
    lose(gitlab, 'POST', /\/repository\/tags$/, 1, { malformed: true });
    lose(gitlab, 'POST', /\/releases$/, 1, { reset: true });
    github.http.chaos(RATE, FAULTS, SEED);
    gitlab.http.chaos(RATE, FAULTS, SEED + 1);
    const started = Date.now();
    const ended = await Promise.all([...githubServices, ...gitlabServices].map(runTrain));
    const seconds = Math.round((Date.now() - started) / 1000);
    const faults = { github: { ...github.http.faultCounts }, gitlab: { ...gitlab.http.faultCounts } };
    const requests = { github: github.http.log.length, gitlab: gitlab.http.log.length };
    // Counting reads the forges without faults.
    github.http.chaos(0, FAULTS);
    gitlab.http.chaos(0, FAULTS);
    const hub = new GitHubForge({ repository: github.repository, apiUrl: github.url, token: github.token, defaultBranch: github.defaultBranch, requestTimeoutMs: 5_000 });
    const lab = new GitLabForge({ project: gitlab.projectPath, url: gitlab.url, token: gitlab.token, defaultBranch: 'main', requestTimeoutMs: 5_000 });
    const tallies = await Promise.all(ended.map((s) => tally(s, githubServices.includes(s.service) ? hub : lab)));

    const result = figures(`forge faults at ${RATE * 100} % of requests (seed ${SEED})`, ended.length, tallies);
    report(result, tallies);
    console.log(
      `[reliability] forge chaos: ${seconds} s for ${ended.length} trains; GitHub ${requests.github} requests, ${faults.github.faults} faulted (${faults.github.lostAnswers} served with the answer lost); ` +
        `GitLab ${requests.gitlab} requests, ${faults.gitlab.faults} faulted (${faults.gitlab.lostAnswers} answers lost)`,
    );
    // The faults really happened, of both kinds, on both forges (the 4 injected lost writes included).
    expect(faults.github.lostAnswers).toBeGreaterThanOrEqual(4);
    expect(faults.gitlab.lostAnswers).toBeGreaterThanOrEqual(4);
    expect(faults.github.faults - faults.github.lostAnswers).toBeGreaterThan(0);
    expect(faults.gitlab.faults - faults.gitlab.lostAnswers).toBeGreaterThan(0);
    expect(tallies.flatMap((t) => [...t.duplicates, ...t.lost].map((p) => `${t.trainId}: ${p}`))).toEqual([]);
    expect(result.completed).toBe(ended.length);
    expect(logs.join('\n')).not.toContain(github.token);
    expect(logs.join('\n')).not.toContain(gitlab.token);
  });
});
