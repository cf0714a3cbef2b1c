/**
 * Production never goes backwards by accident, end to end on the dev server: the demo's real git
 * forge (a hotfix cherry-picked onto the production tag), real deploy processes and the real CLI.
 *
 * 1. A train cut before a hotfix reaches production after the hotfix released: it does not deploy
 *    (the hotfix's commit is not in it), says why, and a promote with the override and a reason
 *    deploys it, recorded in the train, the ledger and a notification.
 * 2. One train per release slot: `trainyard start` while the slot's train is active is refused
 *    with the reason and the way to replace it (`trainyard tag`, which supersedes it).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitChange } from '../../demo/demo.js';
import type { TrainStatus } from '../../domain/train.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';

let demo: DemoEnv;
beforeAll(async () => {
  demo = await startDemoEnv();
});
afterAll(async () => {
  await demo?.stop();
});

const repo = () => join(demo.dir, 'repo');
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@demo.invalid', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@demo.invalid' },
  }).trim();

/** A commit on main touching its own file, so it cherry-picks cleanly onto an older tag. */
function commitFile(file: string, content: string, message: string): string {
  writeFileSync(join(repo(), file), content);
  git('add', file);
  git('commit', '--quiet', '-m', message);
  return git('rev-parse', 'HEAD');
}

async function startTrain(): Promise<string> {
  const out = await demo.cli(['start', 'demo', '--reason', 'the next release']);
  expect(out.code, out.stderr).toBe(0);
  return /started (\S+)/.exec(out.stdout)![1]!;
}

/**
 * Waits until the train is in one of `stages` (so a wrong turn fails at once, naming the stage it
 * took), then reads its status through the CLI, as an operator would.
 */
async function reachOneOf(id: string, stages: string[]): Promise<TrainStatus> {
  await demo.waitForStage(id, stages, 60_000);
  return demo.statusOf(id);
}

describe('production never goes backwards', () => {
  it('a train cut before a hotfix does not deploy over it; a promote with override and reason does', async () => {
    // v….1 is released: production runs it.
    const first = await startTrain();
    await demo.waitForStage(first, 'awaiting-release');
    expect((await demo.cli(['promote', first, '--reason', 'first release'])).code).toBe(0);
    const released = await demo.waitForStage(first, 'released');
    const firstTag = released.tag;

    // v….2 is cut from a newer main and waits for its release slot.
    commitChange(demo.dir, 'Add the new banner');
    const train = await startTrain();
    const candidate = await demo.waitForStage(train, 'awaiting-release');

    // Meanwhile a fix lands on main and goes out as a hotfix of v….1: production runs v….3.
    const fix = commitFile('payment.txt', 'timeout: 30s\n', 'Fix the payment timeout');
    const hotfix = await demo.cli(['hotfix', 'demo', '--from', firstTag, '--pick', fix, '--reason', 'payment timeouts', '--as', 'oncall']);
    expect(hotfix.code, hotfix.stderr).toBe(0);
    const hotfixId = /started hotfix (\S+)/.exec(hotfix.stdout)![1]!;
    const hotfixTag = (await demo.waitForStage(hotfixId, 'released')).tag;
    // The hotfix lifts its production freeze as its workflow ends, just after it says released.
    await demo.client.workflow.getHandle(hotfixId).result().catch(() => undefined);
    expect(await demo.versionAt(demo.ports.production)).toBe(hotfixTag);
    const hotfixCommit = git('rev-parse', `${hotfixTag}^{commit}`);

    // The train cut before the hotfix is promoted: it must not remove the fix from production.
    const promoted = await demo.cli(['promote', train, '--reason', 'release day', '--as', 'rm']);
    expect(promoted.code, promoted.stderr).toBe(0);
    const held = await reachOneOf(train, ['awaiting-decision', 'released', 'rolled-back', 'failed']);
    expect(held.stage).toBe('awaiting-decision');
    expect(held.waitingFor).toContain(`production runs ${hotfixTag} (${hotfixCommit.slice(0, 7)}), which ${candidate.tag} does not contain: deploying it would remove that change`);
    expect(held.waitingFor).toMatch(/trainyard tag demo --from/);
    expect(held.waitingFor).toMatch(/--override-backwards/);
    expect(await demo.versionAt(demo.ports.production)).toBe(hotfixTag);
    const shown = await demo.cli(['status', train]);
    expect(shown.stdout).toContain(`production runs ${hotfixTag}`);
    expect(demo.logs.join('\n')).toContain(`production runs ${hotfixTag}`);

    // A plain promote is refused with the reason; the override needs a reason too.
    const plain = await demo.cli(['promote', train, '--reason', 'again', '--as', 'rm']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/promote rejected: .*does not contain.*--override-backwards/s);
    expect((await demo.cli(['promote', train, '--override-backwards'])).code).toBe(2);

    const override = await demo.cli(['promote', train, '--override-backwards', '--reason', 'the fix is reverted upstream; ship the banner', '--as', 'rm']);
    expect(override.code, override.stderr).toBe(0);
    const done = await reachOneOf(train, ['released', 'rolled-back', 'failed', 'expired', 'aborted']);
    expect(done.stage).toBe('released');
    expect(await demo.versionAt(demo.ports.production)).toBe(candidate.tag);
    expect(done.actions.at(-1)).toMatchObject({ kind: 'promote', by: 'rm', reason: 'the fix is reverted upstream; ship the banner', overrideBackwards: hotfixTag });
    const ledger = JSON.parse((await demo.cli(['env', 'demo', '--json'])).stdout) as { deployments: { tag: string; outcome: string; by: string; note?: string }[] };
    expect(ledger.deployments.at(-1)).toMatchObject({ tag: candidate.tag, outcome: 'verified', by: 'rm' });
    expect(ledger.deployments.at(-1)?.note).toContain(`over ${hotfixTag}`);
    expect(demo.logs.join('\n')).toMatch(new RegExp(`rm deploys ${candidate.tag.replaceAll('.', '\\.')} over ${hotfixTag.replaceAll('.', '\\.')}.*ship the banner`));
  }, 180_000);

  it('a second start for a release slot that has an active train is refused, naming it and the way to replace it', async () => {
    commitChange(demo.dir, 'Another change');
    const active = await startTrain();
    await demo.waitForStage(active, 'awaiting-release');
    commitChange(demo.dir, 'Yet another change');

    const second = await demo.cli(['start', 'demo', '--reason', 'a second train', '--as', 'rm']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`cut rejected: service demo already has a train for this release slot: ${active}`);
    expect(second.stderr).toMatch(/trainyard tag demo --from <sha> --reason/);
    const list = await demo.cli(['status', '--json']);
    expect((JSON.parse(list.stdout) as { trainId: string }[]).map((t) => t.trainId)).toEqual([active]);

    // The way the refusal names: a re-tag supersedes the slot's train (it can never deploy).
    const head = git('rev-parse', 'HEAD');
    const retag = await demo.cli(['tag', 'demo', '--from', head, '--reason', 'ship the newer commit', '--as', 'rm']);
    expect(retag.code, retag.stderr).toBe(0);
    expect((await demo.waitForStage(active, 'superseded')).stage).toBe('superseded');
    const replacement = /started (\S+)/.exec(retag.stdout)![1]!;
    await demo.waitForStage(replacement, 'awaiting-release');
    expect((await demo.cli(['abort', replacement, '--reason', 'test done'])).code).toBe(0);
  }, 120_000);
});
