/**
 * Stage on every merge (seed 004) on the real dev server with the real worker: a real git repository
 * as the forge (CI states recorded as a CI system would), a real deploy command and smoke check.
 * The follower deploys the newest green commit once per burst, waits for CI that is still running,
 * records every deploy in the staging ledger, does not retry a failed commit until an operator with
 * the right asks, and waits behind a staging freeze to deploy what is newest when it lifts.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { recordCommitState } from '../../activities/forge/local-git.js';
import { ledgerId, stageFollowerId } from '../../domain/ids.js';
import type { StageStatus } from '../../domain/stage.js';
import { ensureStageFollowers } from '../../client/stage-commands.js';
import { loadConfigFile } from '../../client/config-file.js';
import { freezeUpdate, ledgerQuery, unfreezeUpdate } from '../../workflows/ledger-messages.js';
import { STAGE_WORKFLOW, stagePushSignal, stageRetryUpdate, stageStatusQuery } from '../../workflows/stage-messages.js';
import { recordHistory } from '../helpers/histories.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { gitWork } from '../helpers/git-work.js';
import { rejection } from '../helpers/train-harness.js';

let stack: DevStack;
let client: Client;
let follower: WorkflowHandle;
let work: string;
let repo: string;
let git: (...args: string[]) => string;

/** A merge to main: a new commit, its CI state as the CI system reports it. */
async function merge(title: string, ci: 'success' | 'pending' | 'failure' = 'success'): Promise<string> {
  writeFileSync(join(repo, 'CHANGES.md'), `${title}\n`, { flag: 'a' });
  git('add', '-A');
  git('commit', '-q', '-m', title);
  const sha = git('rev-parse', 'HEAD');
  await recordCommitState(repo, sha, ci);
  return sha;
}

const deploys = () => (existsSync(join(work, 'deploys.log')) ? readFileSync(join(work, 'deploys.log'), 'utf8').split('\n').filter(Boolean) : []);

function until(what: string, done: (s: StageStatus) => boolean, timeoutMs = 60_000): Promise<StageStatus> {
  return queryUntil(follower, stageStatusQuery, done, `the follower to reach "${what}"`, { timeoutMs, intervalMs: 250 });
}

const push = (sha: string) => follower.signal(stagePushSignal, { sha, by: 'octocat' });

beforeAll(async () => {
  ({ work, repo, git } = gitWork('stage'));
  const env = `env: { WORK: ${JSON.stringify(work)} }`;
  stack = await startDevStack(`
services:
  monitor:
    forge: { kind: local-git, path: ${JSON.stringify(repo)} }
    operators: [{ name: rm, rights: [promote, freeze] }, { name: intern, rights: [freeze] }]
    stageOnMerge: { quietSeconds: 2, pollMinutes: 60, pendingPollSeconds: 5 }
    heartbeatSeconds: 20
    environments:
      staging:
        deploy: { kind: command, command: [sh, -c, 'echo "$TRAINYARD_COMMIT" >> "$WORK/deploys.log"'], ${env} }
        smoke: { kind: command, command: [sh, -c, 'test ! -e "$WORK/broken-$TRAINYARD_COMMIT"'], ${env} }
      production:
        deploy: { kind: command, command: ["true"] }
    notify: [{ kind: log }]
  docs:
    forge: { kind: local-git, path: ${JSON.stringify(repo)} }
    stageOnMerge: { branch: gh-pages, pollMinutes: 60 }
    environments:
      staging: { deploy: { kind: command, command: ["true"] } }
      production: { deploy: { kind: command, command: ["true"] } }
    notify: [{ kind: log }]
`);
  client = stack.client;
  follower = client.workflow.getHandle(stageFollowerId('monitor'));
});

afterAll(async () => {
  await follower?.terminate('test over').catch(() => undefined);
  await client?.workflow.getHandle(stageFollowerId('docs')).terminate('test over').catch(() => undefined);
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('stage on every merge', () => {
  it('deploys the newest green commit to staging: at start, after CI turns green, and once per burst', { timeout: 120_000 }, async () => {
    const a = await merge('feat: breach alerts (#1)');
    const { config } = loadConfigFile(join(stack.dir, 'trainyard.yaml'));
    expect(await ensureStageFollowers(client, config)).toEqual(['stage/monitor', 'stage/docs']);
    // Started again (a worker restart): the same followers, not second ones.
    expect(await ensureStageFollowers(client, config)).toEqual(['stage/monitor', 'stage/docs']);
    await until('A verified', (s) => s.last?.commit === a && s.last.outcome === 'verified');
    expect(deploys()).toEqual([a]);

    // B is merged while its CI runs: the follower waits for it and looks again soon, not in an hour.
    const b = await merge('fix: typo (#2)', 'pending');
    await push(b);
    const waiting = await until('waiting for CI of B', (s) => s.waitsFor.startsWith(`CI of main@${b.slice(0, 12)}`));
    expect(waiting.lastLook).toMatchObject({ head: b, headState: 'pending', candidate: a });
    await recordCommitState(repo, b, 'success');
    await until('B verified', (s) => s.last?.commit === b);

    // A burst of three merges, each pushed as it lands, deploys the last one once.
    const burst: string[] = [];
    for (const title of ['feat: one (#3)', 'feat: two (#4)', 'feat: three (#5)']) {
      burst.push(await merge(title));
      await push(burst.at(-1)!);
    }
    await until('the burst verified', (s) => s.last?.commit === burst[2]);
    expect(deploys()).toEqual([a, b, burst[2]]);

    // A red commit is never deployed: the newest green one stays.
    const red = await merge('feat: broken build (#6)', 'failure');
    await push(red);
    const after = await until('looked at the red head', (s) => s.lastLook?.head === red && s.waitsFor.startsWith('a push to main'));
    expect(after.lastLook?.candidate).toBe(burst[2]);
    expect(deploys()).toHaveLength(3);

    // Every deploy is in the staging ledger, attributed to the follower.
    const ledger = await client.workflow.getHandle(ledgerId('monitor', 'staging')).query(ledgerQuery);
    expect(ledger.deployments.filter((d) => d.trainId === 'stage/monitor').map((d) => [d.commit, d.outcome])).toEqual([
      [a, 'verified'],
      [b, 'verified'],
      [burst[2], 'verified'],
    ]);
    expect(ledger.holder).toBeUndefined();

    // The service's heartbeatSeconds is the deploy's and the smoke check's heartbeat timeout.
    const history = await follower.fetchHistory();
    const timeouts = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a && ['deploy', 'runCheck'].includes(a.activityType?.name ?? '') ? [Number(a.heartbeatTimeout?.seconds ?? 0)] : [];
    });
    expect(timeouts.length).toBeGreaterThanOrEqual(6);
    expect(new Set(timeouts)).toEqual(new Set([20]));

    // Findable beside the service's trains in the UI and `temporal workflow list`.
    const listed = async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query: 'TrainyardService = "monitor" AND TrainyardEnvironment = "staging" AND TrainyardStatus = "waiting"' })) ids.push(wf.workflowId);
      return ids;
    };
    await pollUntil('the follower to be listed by its search attributes', async () => (await listed()).includes('stage/monitor'), { timeoutMs: 10_000, intervalMs: 250 });
  });

  it('a branch it cannot read makes the follower wait and say why; it does not end', { timeout: 60_000 }, async () => {
    const docs = client.workflow.getHandle(stageFollowerId('docs'));
    const status = await queryUntil(docs, stageStatusQuery, (s) => Boolean(s.lastError), 'the docs follower to report its error', { intervalMs: 250 });
    expect(status.lastError).toMatch(/gh-pages/);
    expect(status.waitsFor).toMatch(/^the branch to be readable \(.*gh-pages.*\); looking again in 60 min or at the next push$/);
    expect((await docs.describe()).status.name).toBe('RUNNING');
  });

  it('a failed smoke check is not retried until an operator with the right asks', { timeout: 120_000 }, async () => {
    const broken = await merge('feat: breaks staging (#7)');
    writeFileSync(join(work, `broken-${broken}`), '');
    await push(broken);
    const failed = await until('smoke check failed', (s) => s.last?.commit === broken && s.last.outcome === 'failed');
    expect(failed.last?.summary).toContain('smoke check failed');
    expect(stack.logs.join('\n')).toMatch(/Smoke check of main@[0-9a-f]{12} in staging failed/);

    // Nudged again: the same commit is not deployed again by itself.
    await push(broken);
    await until('looked again', (s) => s.waitsFor.startsWith('a push to main') && (s.lastLook?.at ?? 0) > (failed.lastLook?.at ?? 0));
    expect(deploys().filter((d) => d === broken)).toHaveLength(1);

    expect(await rejection(follower.executeUpdate(stageRetryUpdate, { args: [{ by: 'intern', reason: 'try again' }] }))).toContain('does not have the "promote" right');
    expect(await rejection(follower.executeUpdate(stageRetryUpdate, { args: [{ by: 'rm', reason: '' }] }))).toContain('a reason is required');
    // The same rule from the CLI (exit 1, the validator's words), and its status view.
    const denied = await stack.cli(['stage', 'retry', 'monitor', '--reason', 'please', '--as', 'intern']);
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringMatching(/^retry rejected: "intern" does not have the "promote" right on service monitor/)]);
    const shown = await stack.cli(['stage', 'status', 'monitor']);
    expect(shown.stdout).toContain(`${broken.slice(0, 12)}  failed  smoke check failed`);
    const unknown = await stack.cli(['stage', 'status', 'nosuch']);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('nosuch has no stage follower (stage/nosuch)')]);
    rmSync(join(work, `broken-${broken}`));
    const retried = await stack.cli(['stage', 'retry', 'monitor', '--reason', 'the database is back', '--as', 'rm']);
    expect(retried.stdout, retried.stderr).toMatch(/^retrying: stage\/monitor deploys the newest commit to staging again \(by rm: the database is back\)/);
    await until('retried and verified', (s) => s.last?.commit === broken && s.last.outcome === 'verified');
    expect(deploys().filter((d) => d === broken)).toHaveLength(2);
    expect(await rejection(follower.executeUpdate(stageRetryUpdate, { args: [{ by: 'rm', reason: 'again' }] }))).toContain('nothing to retry');
  });

  it('waits behind a staging freeze and then deploys what is newest, once', { timeout: 120_000 }, async () => {
    const ledger = client.workflow.getHandle(ledgerId('monitor', 'staging'));
    await ledger.executeUpdate(freezeUpdate, { args: [{ by: 'rm', reason: 'demo for the board' }] });
    const g = await merge('feat: g (#8)');
    await push(g);
    await until('waiting for the lock', (s) => s.waitsFor.startsWith('the staging lock'));
    const h = await merge('feat: h (#9)');
    await push(h);
    const before = deploys().length;
    await ledger.executeUpdate(unfreezeUpdate, { args: [{ by: 'rm', reason: 'demo over' }] });
    await until('H verified', (s) => s.last?.commit === h);
    expect(deploys().slice(before)).toEqual([h]);
  });

  it('started again it does not redeploy what staging runs, and its state survives continue-as-new', { timeout: 120_000 }, async () => {
    await until('idle', (s) => s.waitsFor.startsWith('a push to main'));
    await recordHistory('stage follower: deploys, waits for CI, bursts, failed smoke, retry, freeze', follower);
    await follower.terminate('started again by the test');
    const before = deploys().length;
    await client.workflow.start(STAGE_WORKFLOW, { workflowId: stageFollowerId('monitor'), taskQueue: 'trainyard', args: [{ service: 'monitor', maxHistoryEvents: 60 }] });
    follower = client.workflow.getHandle(stageFollowerId('monitor'));
    const fresh = await until('first look of the new run', (s) => s.lastLook !== null && s.waitsFor.startsWith('a push to main'));
    expect(fresh.last?.summary).toMatch(/staging's ledger records/);
    expect(deploys()).toHaveLength(before);

    const firstRun = (await follower.describe()).runId;
    const i = await merge('feat: i (#10)');
    await push(i);
    await until('I verified', (s) => s.last?.commit === i);
    // Looks add history; past 60 events the follower continues as new, carrying its state.
    for (let n = 0; n < 8 && (await follower.describe()).runId === firstRun; n++) {
      const looked = (await follower.query(stageStatusQuery)).lastLook?.at ?? 0;
      await push(i);
      await until('looked again', (s) => (s.lastLook?.at ?? 0) > looked && s.waitsFor.startsWith('a push to main'));
    }
    expect((await follower.describe()).runId).not.toBe(firstRun);
    const carried = await follower.query(stageStatusQuery);
    expect(carried.last).toMatchObject({ commit: i, outcome: 'verified' });
    expect(carried.history.map((d) => d.commit)).toEqual([i]);
    expect(deploys().slice(before)).toEqual([i]);
  });
});
