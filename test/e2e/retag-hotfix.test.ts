/**
 * The seed's manual re-tag and a hotfix, end to end through the CLI on the dev server, with real
 * git (cherry-picks on a hotfix branch) and the demo's real processes.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitChange } from '../../demo/demo.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';

let demo: DemoEnv;
beforeAll(async () => {
  demo = await startDemoEnv();
});
afterAll(async () => {
  await demo?.stop();
});

const git = (...args: string[]) => execFileSync('git', ['-C', join(demo.dir, 'repo'), ...args], { encoding: 'utf8' }).trim();

describe('re-tag and hotfix through the CLI', () => {
  it('tag --from <sha> supersedes the active train with the next tag', async () => {
    const first = await demo.cli(['start', 'demo', '--reason', 'weekly release']);
    const firstId = /started (\S+)/.exec(first.stdout)![1]!;
    await demo.waitForStage(firstId, 'awaiting-release');
    const fix = commitChange(demo.dir, 'Revert the broken banner');
    const retag = await demo.cli(['tag', 'demo', '--from', fix, '--reason', 'banner regression', '--as', 'oncall']);
    expect(retag.code, retag.stderr).toBe(0);
    const secondId = /started (\S+)/.exec(retag.stdout)![1]!;
    expect(secondId).toBe(firstId.replace(/\.1$/, '.2'));
    expect((await demo.waitForStage(firstId, 'superseded')).stages.at(-1)?.note).toContain('oncall: banner regression');
    expect(git('rev-list', '-n', '1', secondId.slice('train/demo/'.length))).toBe(fix);
    await demo.waitForStage(secondId, 'awaiting-release');
    const promoted = await demo.cli(['promote', secondId, '--reason', 'ship the fix']);
    expect(promoted.code, promoted.stderr).toBe(0);
    await demo.waitForStage(secondId, 'released');

    const tooLate = await demo.cli(['tag', 'demo', '--from', fix, '--reason', 'again']);
    expect(tooLate.code).toBe(0); // no active train: a plain new tag
  });

  it('hotfix --from <production tag> --pick <sha> cherry-picks onto a hotfix branch and releases it', async () => {
    // Abort what the last test left running, so production holds the released .2.
    for (const line of (await demo.cli(['status'])).stdout.split('\n').slice(1)) {
      const id = line.split(/\s+/)[0];
      if (id) await demo.cli(['abort', id, '--reason', 'clean up']);
    }
    const production = (await (await fetch(`http://127.0.0.1:${demo.ports.production}/version`)).json()) as { version: string };
    const urgent = commitChange(demo.dir, 'Fix the payment timeout');
    const hotfix = await demo.cli(['hotfix', 'demo', '--from', production.version, '--pick', urgent, '--reason', 'payments time out', '--as', 'oncall']);
    expect(hotfix.code, hotfix.stderr).toBe(0);
    const id = /started hotfix (\S+)/.exec(hotfix.stdout)![1]!;
    const tag = id.slice('train/demo/'.length);
    // .3 was taken by the previous test's plain tag: a hotfix takes the next free number.
    expect(tag).toBe(production.version.replace(/\.2$/, '.4'));
    const released = await demo.waitForStage(id, 'released');
    expect(released.versions.production).toBe(tag);
    // The tagged commit is the production tag plus the cherry-pick, nothing else from main.
    expect(git('rev-parse', `${tag}^{commit}^`)).toBe(git('rev-parse', `${production.version}^{commit}`));
    expect(git('log', '-1', '--format=%s', `${tag}^{commit}`)).toBe('Fix the payment timeout');
    expect(git('rev-parse', `refs/heads/hotfix/${tag}`)).toBe(git('rev-parse', `${tag}^{commit}`));

    // Refs that do not exist are refused by the ledger before a cut starts: no failed cut is left behind.
    const cuts = async () => {
      const found: string[] = [];
      for await (const wf of demo.client.workflow.list({ query: 'WorkflowType = "cutRelease"' })) found.push(`${wf.workflowId} ${wf.status.name}`);
      return found.sort();
    };
    const before = await cuts();
    const bad = await demo.cli(['hotfix', 'demo', '--from', 'not-a-release', '--pick', urgent, '--reason', 'x']);
    expect(bad.stderr).toMatch(/^hotfix rejected: the hotfix tag \(--from\): ref "not-a-release" was not found in \S+\. Check the branch, tag or sha/);
    expect(bad.code).toBe(1);
    const badPick = await demo.cli(['hotfix', 'demo', '--from', production.version, '--pick', 'deadbeef', '--reason', 'x']);
    expect(badPick.stderr).toMatch(/^hotfix rejected: a commit to pick \(--pick\): ref "deadbeef" was not found/);
    const badRef = await demo.cli(['start', 'demo', '--ref', 'no-such-branch', '--reason', 'x']);
    expect(badRef.stderr).toMatch(/^start rejected: ref "no-such-branch" was not found in \S+\. Check the branch, tag or sha/);
    expect(badRef.code).toBe(1);
    expect(await cuts()).toEqual(before);
    expect(before.every((c) => c.endsWith(' COMPLETED')), before.join('\n')).toBe(true);
  });

  it('rollback puts the previous verified version back in production, and refuses what it cannot do', async () => {
    const version = async () => ((await (await fetch(`http://127.0.0.1:${demo.ports.production}/version`)).json()) as { version: string }).version;
    const current = await version();
    expect(current).toMatch(/\.4$/);
    const previous = current.replace(/\.4$/, '.2');

    const unknownTarget = await demo.cli(['rollback', 'demo', '--reason', 'x', '--to', 'demo/v2000.01.01.1']);
    expect(unknownTarget.code).toBe(1);
    expect(unknownTarget.stderr).toMatch(/rollback rejected: demo\/v2000\.01\.01\.1 was never verified in demo production; verified versions: .*\.2, .*\.4/);
    const unauthorisedEnv = await demo.cli(['rollback', 'demo', '--env', 'qa', '--reason', 'x']);
    expect(unauthorisedEnv.code).toBe(2);
    const usage = await demo.cli(['rollback', 'demo']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--reason/);

    const rolled = await demo.cli(['rollback', 'demo', '--reason', 'checkout errors after the hotfix', '--as', 'oncall']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`rolling demo production back to ${previous} (by oncall: checkout errors after the hotfix)`);
    expect(rolled.stdout).toMatch(/production runs .*\.2 again/);
    expect(await version()).toBe(previous);
    const ledger = JSON.parse((await demo.cli(['env', 'demo', '--json'])).stdout) as { deployments: { tag: string; outcome: string; by: string }[] };
    expect(ledger.deployments.at(-1)).toMatchObject({ tag: previous, outcome: 'verified', by: 'oncall' });

    // Back again to the hotfix with --to; the same target twice in a row is refused.
    const again = await demo.cli(['rollback', 'demo', '--to', previous, '--reason', 'again']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already runs/);
  });
});
