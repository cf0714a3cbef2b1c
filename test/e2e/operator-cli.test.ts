/**
 * The operator commands around environment ledgers, end to end on the real dev server with a real
 * worker and the demo's real processes: freeze, unfreeze, env, promote --override-freeze, rerun-e2e,
 * and the rights of every action (start, hotfix, revert, schedules included).
 * The tests run in order and share one installation (one train: each takes tens of seconds).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCommitState } from '../../activities/forge/local-git.js';
import { buildForge } from '../../activities/registry.js';
import { loadConfigFile } from '../../client/config-file.js';
import type { LedgerView } from '../../client/ledgers.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { ledgerId } from '../../domain/ids.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';

// Appended to the demo service's block: alice may do everything but roll back, bob only promote,
// carol only read.
const OPERATORS = `    operators:
      - { name: alice, rights: [start, hotfix, promote, abort, freeze, override-freeze, revert] }
      - { name: bob, rights: [promote] }
      - { name: carol, rights: [] }
`;

let demo: DemoEnv;
let client: Client;
let trainId: string;
let tag: string;

beforeAll(async () => {
  demo = await startDemoEnv(OPERATORS);
  client = await connectClient(localTarget(demo.server.address));
});
afterAll(async () => {
  await client?.connection.close();
  await demo?.stop();
});

const git = (...args: string[]) => execFileSync('git', ['-C', join(demo.dir, 'repo'), ...args], { encoding: 'utf8' }).trim();

/** A pull request merged into main through the demo's local forge, as a developer's would be. */
async function mergedPullRequest(title: string): Promise<number> {
  const { config, baseDir } = loadConfigFile(demo.configFile);
  const forge = buildForge(config.services.demo!.forge, baseDir);
  const branch = title.toLowerCase().replace(/\W+/g, '-');
  git('switch', '--quiet', '-c', branch);
  writeFileSync(join(demo.dir, 'repo', `${branch}.txt`), `${title}\n`);
  git('add', `${branch}.txt`);
  git('commit', '--quiet', '-m', title);
  const sha = git('rev-parse', 'HEAD');
  git('switch', '--quiet', 'main');
  const { change } = await forge.openChangeRequest({ sourceBranch: branch, targetBranch: 'main', title, body: '', labels: [] });
  await recordCommitState(join(demo.dir, 'repo'), sha, 'success');
  const merged = await forge.mergeWhenGreen(change.number);
  expect(merged.state).toBe('merged');
  return change.number;
}

/** Names of the updates the service's production ledger accepted (a refused one is never written). */
async function acceptedLedgerUpdates(): Promise<{ name: string; input: string }[]> {
  const history = await client.workflow.getHandle(ledgerId('demo', 'production')).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    const payload = request?.input?.args?.payloads?.[0]?.data;
    return request ? [{ name: request.input?.name ?? '', input: payload ? Buffer.from(payload).toString('utf8') : '' }] : [];
  });
}

async function noWorkflow(workflowId: string): Promise<void> {
  await expect(client.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

/** What a validator says when someone lacks a right: what happened, and what to do next (where to add it). */
const lacks = (who: string, right: string, extra = '') =>
  new RegExp(`"${who}" does not have the "${right}" right on service demo${extra}; ask an admin to add it to ${who}'s rights in services\\.demo\\.operators of ${demo.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

async function ok(args: string[]): Promise<string> {
  const out = await demo.cli(args);
  expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0);
  return out.stdout;
}

async function fails(args: string[], code: number, stderr: RegExp): Promise<void> {
  const out = await demo.cli(args);
  expect(out.stderr).toMatch(stderr);
  expect(out.code, `${args.join(' ')}: ${out.stdout}${out.stderr}`).toBe(code);
}

async function ledgerOf(environment = 'production'): Promise<LedgerView> {
  return JSON.parse(await ok(['env', 'demo', '--env', environment, '--json'])) as LedgerView;
}

describe('operating environments through the CLI', () => {
  it('freezes production before any train has run, and shows it', async () => {
    expect(await ok(['env', 'demo'])).toMatch(/demo production: no train has deployed here and nobody has frozen it yet/);
    await fails(['env', 'nosuch'], 1, /there is no production ledger of "nosuch", and it is not a service of .*trainyard\.yaml\nServices there: demo/);

    // No ledger exists yet: the CLI creates it, the ledger reads the operators from the worker's
    // config, and its validator refuses (the CLI checks nothing itself).
    await fails(['freeze', 'demo', '--reason', 'x', '--as', 'bob'], 1, /^freeze rejected: "bob" does not have the "freeze" right on service demo; ask an admin/);
    await fails(['freeze', 'demo', '--reason', 'x', '--until', 'tomorrow', '--as', 'alice'], 2, /"tomorrow" is neither an ISO time .* nor a duration \(90m, 2h, 3d/);
    await fails(['freeze', 'demo', '--reason', 'x', '--until', '2000-01-01T00:00:00Z', '--as', 'alice'], 2, /2000-01-01T00:00:00Z is in the past/);
    // A typo of a duration is not a freeze until 2300.
    await fails(['freeze', 'demo', '--reason', 'x', '--until', '99999d', '--as', 'alice'], 2, /a freeze with an end ends within 90 days, not on 2\d{3}-\d{2}-\d{2}; to freeze until someone unfreezes, leave out the end/);
    await fails(['freeze', 'demo', '--reason', 'x', '--env', 'prod'], 2, /Allowed choices are production, staging, all/);

    const before = Date.now();
    expect(await ok(['freeze', 'demo', '--reason', 'incident 42', '--until', '2h', '--as', 'alice'])).toMatch(
      /^froze demo production \(by alice: incident 42\) until \d{4}-\d{2}-\d{2} \d{2}:\d{2} /,
    );

    const ledger = await ledgerOf();
    expect(ledger.frozen).toMatchObject({ frozen: true, by: 'alice', reason: 'incident 42' });
    expect(ledger.frozen.until).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1_000);
    expect(ledger.frozen.until).toBeLessThanOrEqual(Date.now() + 2 * 3_600_000);
    // The ledger read the config's operators when it started: it enforces them itself.
    expect(ledger.operators?.map((o) => o.name)).toEqual(['alice', 'bob', 'carol']);
    const text = await ok(['env', 'demo']);
    expect(text).toMatch(/Freeze\s+frozen by alice: incident 42; since .*, until \d{4}-\d{2}-\d{2}/);
    expect(text).toMatch(/Lock\s+free/);
    expect(text).toContain('No deployments recorded yet.');
  });

  it('start, hotfix and revert need their rights and a reason; a refusal leaves nothing behind', async () => {
    const broken = await mergedPullRequest('Break the banner');
    await fails(['start', 'demo', '--as', 'bob'], 2, /required option '--reason <text>' not specified/);
    await fails(['start', 'demo', '--reason', 'weekly release', '--as', 'bob'], 1, new RegExp(`^start rejected: ${lacks('bob', 'start').source}`));
    await fails(['hotfix', 'demo', '--from', 'demo/v2024.01.01.1', '--pick', 'HEAD', '--as', 'alice'], 2, /required option '--reason <text>' not specified/);
    await fails(['hotfix', 'demo', '--from', 'demo/v2024.01.01.1', '--pick', 'HEAD', '--reason', 'payment outage', '--as', 'bob'], 1, new RegExp(`^hotfix rejected: ${lacks('bob', 'hotfix').source}`));
    await fails(['tag', 'demo', '--from', 'HEAD', '--reason', 'retag', '--as', 'bob'], 1, new RegExp(`^tag rejected: ${lacks('bob', 'start').source}`));
    await fails(['revert', 'demo', '--pr', String(broken), '--as', 'alice'], 2, /required option '--reason <text>' not specified/);
    await fails(['revert', 'demo', '--pr', String(broken), '--reason', 'banner broken', '--as', 'bob'], 1, new RegExp(`^revert rejected: ${lacks('bob', 'revert').source}`));
    await fails(['start', 'demo', '--reason', 'x', '--as', 'mallory'], 1, /^start rejected: "mallory" is not an operator of service demo; ask an admin to add them, with the "start" right, to services\.demo\.operators of /);

    // Nothing was cut, tagged, branched or reverted, and the ledger's history holds none of it.
    await noWorkflow('cut/demo');
    await noWorkflow('cut/demo-hotfix');
    expect(git('tag', '--list')).toBe('');
    expect(git('branch', '--list', 'hotfix/*', `revert-${broken}`)).toBe('');
    expect((await acceptedLedgerUpdates()).map((u) => u.name)).toEqual(['freeze']);
  });

  it('an operator with `rights: []` may read, and is refused every action with the reason', async () => {
    expect(await ok(['env', 'demo', '--as', 'carol'])).toMatch(/Freeze\s+frozen by alice/);
    const readOnly = ' \\(carol may only read: their rights are \\[\\]\\)';
    const refusals: [string[], string, string][] = [
      [['start', 'demo'], 'start', 'start'],
      [['hotfix', 'demo', '--from', 'demo/v2024.01.01.1', '--pick', 'HEAD'], 'hotfix', 'hotfix'],
      [['freeze', 'demo', '--env', 'staging'], 'freeze', 'freeze'],
      [['unfreeze', 'demo'], 'unfreeze', 'freeze'],
      [['revert', 'demo', '--pr', '1'], 'revert', 'revert'],
    ];
    for (const [args, verb, right] of refusals) {
      await fails([...args, '--reason', 'because', '--as', 'carol'], 1, new RegExp(`^${verb} rejected: ${lacks('carol', right, readOnly).source}`));
    }
    expect((await acceptedLedgerUpdates()).map((u) => u.name)).toEqual(['freeze']);
  });

  it('a frozen production rejects promote; an operator with the right promotes through it', { timeout: 120_000 }, async () => {
    const started = await ok(['start', 'demo', '--reason', 'incident fix release', '--as', 'alice']);
    trainId = /started (train\/demo\/\S+)/.exec(started)?.[1] ?? '';
    tag = trainId.slice('train/demo/'.length);
    expect(tag).toMatch(/^demo\/v\d{4}\.\d{2}\.\d{2}\.1$/);

    // Staging is not frozen: the train gets as far as waiting for its release time.
    const waiting = await demo.waitForStage(trainId, 'awaiting-release');
    expect(waiting.freezes.production).toMatchObject({ frozen: true, by: 'alice' });

    await fails(['rerun-e2e', 'demo', '--reason', 'flaky', '--as', 'alice'], 1, new RegExp(`^rerun-e2e rejected: train ${trainId} is not waiting after failed E2E \\(stage: awaiting-release\\)`));
    await fails(
      ['promote', 'demo', '--reason', 'ship it', '--as', 'alice'],
      1,
      /^promote rejected: production is frozen by alice: incident 42 .*override-freeze right.*\nWith the override-freeze right: trainyard promote train\/demo\/\S+ --override-freeze --reason/,
    );

    // The ledger enforces the same operators as the train.
    expect((await ledgerOf()).operators?.map((o) => o.name)).toEqual(['alice', 'bob', 'carol']);
    await fails(['freeze', 'demo', '--reason', 'x', '--as', 'bob'], 1, new RegExp(`^freeze rejected: ${lacks('bob', 'freeze').source}\n?$`));
    await fails(['promote', 'demo', '--reason', 'x', '--as', 'carol'], 1, /promote rejected: "carol" does not have the "promote" right on service demo \(carol may only read/);
    await fails(['abort', 'demo', '--reason', 'x', '--as', 'carol'], 1, /abort rejected: "carol" does not have the "abort" right/);
    await fails(['promote', 'demo', '--reason', 'ship it', '--override-freeze', '--as', 'bob'], 1, /promote rejected: "bob" does not have the "override-freeze" right/);

    expect(await ok(['promote', 'demo', '--reason', 'hotfix for incident 42', '--override-freeze', '--as', 'alice'])).toContain(
      'by alice: hotfix for incident 42, overriding the production freeze',
    );
    const released = await demo.waitForStage(trainId, 'released');
    expect(await demo.versionAt(demo.ports.production)).toBe(tag);
    expect(released.actions).toMatchObject([{ kind: 'promote', by: 'alice', overrideFreeze: true }]);
    // Temporal itself records who sent the update: the CLI's identity names the operator.
    const client = await connectClient(localTarget(demo.server.address));
    try {
      const history = await client.workflow.getHandle(trainId).fetchHistory();
      const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
      const identities = accepted.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity);
      expect(identities).toEqual([expect.stringMatching(/^trainyard-cli:alice@/)]);
    } finally {
      await client.connection.close();
    }

    // The override does not end the freeze; the deployment is recorded.
    const ledger = await ledgerOf();
    expect(ledger.frozen.frozen).toBe(true);
    expect(ledger.deployments).toMatchObject([{ tag, trainId, outcome: 'verified', by: 'alice' }]);
    const text = await ok(['env', 'demo']);
    expect(text).toMatch(new RegExp(`${tag.replace(/\./g, '\\.')}\\s+verified\\s+alice\\s+${trainId.replace(/\./g, '\\.')}`));
    expect(await ok(['env', 'demo', '--env', 'staging'])).toMatch(/Freeze\s+not frozen[\s\S]*verified\s+alice/);
  });

  it('unfreezes, and says so when there is nothing to unfreeze', async () => {
    expect(await ok(['unfreeze', 'demo', '--reason', 'incident over', '--as', 'alice'])).toMatch(/^unfroze demo production \(by alice: incident over\)/);
    expect((await ledgerOf()).frozen).toEqual({ frozen: false });
    await fails(['unfreeze', 'demo', '--reason', 'again', '--as', 'alice'], 1, /^unfreeze rejected: demo production is not frozen/);
    await fails(['unfreeze', 'demo', '--reason', 'x', '--as', 'alice', '--env', 'staging'], 1, /^unfreeze rejected: demo staging is not frozen/);
    await fails(['unfreeze', 'nosuch', '--reason', 'x'], 1, /there is no production ledger of "nosuch", and it is not a service of/);
    await fails(['unfreeze', 'demo'], 2, /--reason/);
  });

  it('rollback needs the rollback right, which the ledger enforces itself (the temporal CLI cannot bypass it)', async () => {
    await fails(['rollback', 'demo', '--reason', 'x', '--as', 'bob'], 1, /rollback rejected: "bob" does not have the "rollback" right on service demo/);
    await fails(['rollback', 'demo', '--reason', 'x', '--as', 'carol'], 1, /rollback rejected: "carol" does not have the "rollback" right on service demo \(carol may only read/);
    await fails(['rollback', 'demo', '--reason', 'x', '--as', 'mallory'], 1, /rollback rejected: "mallory" is not an operator of service demo/);
    // alice has no rollback right either; and there is only one verified version anyway.
    await fails(['rollback', 'demo', '--reason', 'x', '--as', 'alice'], 1, /rollback rejected: "alice" does not have the "rollback" right/);
  });

  it('freezes and unfreezes both environments at once', async () => {
    const frozen = await ok(['freeze', 'demo', '--env', 'all', '--reason', 'end of quarter', '--as', 'alice']);
    expect(frozen).toMatch(/froze demo staging \(by alice: end of quarter\) until someone unfreezes it/);
    expect(frozen).toMatch(/froze demo production \(by alice: end of quarter\) until someone unfreezes it/);
    expect((await ledgerOf('staging')).frozen).toMatchObject({ frozen: true, reason: 'end of quarter' });
    await fails(['freeze', 'demo', '--env', 'all', '--reason', 'x', '--as', 'bob'], 1, /freeze rejected in staging: "bob" does not have the "freeze" right on service demo; ask an admin[^\n]*\nfreeze rejected in production: "bob"/);

    await ok(['unfreeze', 'demo', '--env', 'production', '--reason', 'prod is fine', '--as', 'alice']);
    const unfrozen = await ok(['unfreeze', 'demo', '--env', 'all', '--reason', 'quarter closed', '--as', 'alice']);
    expect(unfrozen).toMatch(/unfroze demo staging/);
    expect(unfrozen).toMatch(/demo production is not frozen/);
    await fails(['unfreeze', 'demo', '--env', 'all', '--reason', 'x', '--as', 'alice'], 1, /unfreeze rejected: demo is not frozen in staging or production/);
  });

  it('revert goes through the production ledger: who, why and what are in its history', async () => {
    const broken = await mergedPullRequest('Break the footer');
    const out = await ok(['revert', 'demo', '--pr', String(broken), '--reason', 'footer broken on staging', '--as', 'alice']);
    const opened = new RegExp(`^#${broken}: revert opened as #(\\d+) (\\S+)`).exec(out);
    expect(opened, out).not.toBeNull();
    // The revert branch undoes the pull request's change; main still has it until the revert is merged.
    expect(git('ls-tree', '--name-only', `revert-${broken}`).split('\n')).not.toContain('break-the-footer.txt');
    expect(git('ls-tree', '--name-only', 'main').split('\n')).toContain('break-the-footer.txt');
    const revert = (await acceptedLedgerUpdates()).filter((u) => u.name === 'revert');
    expect(revert).toHaveLength(1);
    expect(JSON.parse(revert[0]!.input)).toEqual({ by: 'alice', reason: 'footer broken on staging', prs: [broken] });
    // The ledger's answer, as recorded: the revert it opened.
    const history = await client.workflow.getHandle(ledgerId('demo', 'production')).fetchHistory();
    const completed = (history.events ?? []).map((e) => e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0]?.data).filter((d) => d !== undefined && d !== null);
    expect(completed.map((d) => Buffer.from(d!).toString('utf8')).join('\n')).toContain(`"url":"${opened![2]}"`);
  });
});
