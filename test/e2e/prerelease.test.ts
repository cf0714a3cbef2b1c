/**
 * Monitor's daily pre-release (seed 004) end to end on the real dev server with the real worker and
 * the `trainyard` CLI: pull requests merged in a real git repository (labels as QA and SREs set
 * them), the pre-release cut with its notes, the QA gate held until a waiver and an SRE's
 * acknowledgement, the 1-click production deploy by a release manager, the release marked latest.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, queryUntil } from '../helpers/poll.js';
import { LocalGitForge } from '../../activities/forge/local-git.js';
import { preReleaseCutId, preReleaseId, type PreReleaseStatus } from '../../domain/prerelease.js';
import { preReleaseStatusQuery } from '../../workflows/prerelease-messages.js';
import { startDevStack, type DevStack } from '../helpers/dev-stack.js';
import { gitWork } from '../helpers/git-work.js';

let stack: DevStack;
let work: string;
let repo: string;
let forge: LocalGitForge;
let git: (...args: string[]) => string;

/** A pull request as a developer makes it: a branch with a commit, opened against main, labelled, merged. */
async function mergedPr(branch: string, title: string, labels: string[]): Promise<number> {
  git('checkout', '-q', '-b', branch, 'main');
  writeFileSync(join(repo, `${branch}.txt`), `${title}\n`);
  git('add', '-A');
  git('commit', '-q', '-m', title);
  git('checkout', '-q', 'main');
  const { change } = await forge.openChangeRequest({ sourceBranch: branch, targetBranch: 'main', title, body: '' });
  if (labels.length > 0) await forge.addLabels(change.number, labels);
  expect((await forge.mergeWhenGreen(change.number)).state).toBe('merged');
  return change.number;
}

async function cli(args: string[], code = 0): Promise<string> {
  const out = await stack.cli(args);
  expect(out.code, `trainyard ${args.join(' ')}: ${out.stdout}${out.stderr}`).toBe(code);
  return code === 0 ? out.stdout : out.stderr;
}

beforeAll(async () => {
  ({ work, repo, git } = gitWork('prerelease'));
  forge = new LocalGitForge(repo, 'main');
  stack = await startDevStack(`
services:
  monitor:
    forge: { kind: local-git, path: ${JSON.stringify(repo)} }
    operators: [{ name: rm, rights: [promote] }, { name: sre-alice, rights: [promote] }, { name: dev, rights: [freeze] }]
    prerelease: { schedule: { at: "09:00" }, sres: [sre-alice], recheckMinutes: 1 }
    environments:
      staging: { deploy: { kind: command, command: ["true"] } }
      production:
        deploy: { kind: command, command: [sh, -c, 'echo "$TRAINYARD_TAG" > "$WORK/production"'], env: { WORK: ${JSON.stringify(work)} } }
    notify: [{ kind: log }]
`);
});

afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a daily pre-release through the CLI', () => {
  it('holds the QA gate until a waiver and an SRE acknowledgement, then deploys with one command and marks the release latest', { timeout: 120_000 }, async () => {
    const approved = await mergedPr('breach-alerts', 'Add breach alerts', ['qa-approved']);
    const envChange = await mergedPr('new-api-key', 'Use the new HIBP API key', ['needs-env-var']);
    const cut = (await stack.client.workflow.execute('cutPreRelease', { workflowId: preReleaseCutId('monitor'), taskQueue: 'trainyard', args: [{ service: 'monitor', startedBy: 'rm' }] })) as { tag: string; prs: number };
    expect(cut.prs).toBe(2);
    const tag = cut.tag;
    expect(tag).toMatch(/^\d{4}\.\d{2}\.\d{2}$/);
    // The pre-release on the forge lists both pull requests (published by the pre-release workflow).
    const notes = await pollUntil(`the pre-release ${tag} on the forge`, () => forge.getRelease(tag), { intervalMs: 250 });
    expect(notes).toMatchObject({ prerelease: true });
    expect(notes?.notes).toContain('Add breach alerts');
    expect(notes?.notes).toContain('Use the new HIBP API key');

    const gate = await cli(['prerelease', 'status', 'monitor', '--tag', tag]);
    expect(gate).toContain(`#${approved} Add breach alerts: QA approved`);
    expect(gate).toContain(`#${envChange} Use the new HIBP API key: QA not approved, env var change NOT acknowledged`);
    expect(await cli(['deploy', 'monitor', '--tag', tag, '--reason', 'ship it', '--as', 'rm'], 1)).toMatch(new RegExp(`^deploy rejected: the QA gate of ${tag.replaceAll('.', '\\.')} is closed`));

    // QA's waiver needs the promote right; the env var acknowledgement needs an SRE.
    expect(await cli(['prerelease', 'waive', 'monitor', '--tag', tag, '--pr', String(envChange), '--reason', 'verified by hand', '--as', 'dev'], 1)).toMatch(/^waive rejected: "dev" does not have the "promote" right/);
    expect(await cli(['prerelease', 'waive', 'monitor', '--tag', tag, '--pr', String(envChange), '--reason', 'verified on stage by hand', '--as', 'rm'])).toContain('QA waived by rm');
    expect(await cli(['prerelease', 'ack-env', 'monitor', '--tag', tag, '--pr', String(envChange), '--reason', 'HIBP_KEY set', '--as', 'rm'], 1)).toMatch(/^ack-env rejected: "rm" is not an SRE of service monitor/);
    expect(await cli(['prerelease', 'ack-env', 'monitor', '--tag', tag, '--pr', String(envChange), '--reason', 'HIBP_KEY set in production', '--as', 'sre-alice'])).toContain('env var acknowledged by sre-alice');
    expect(await cli(['prerelease', 'waive', 'monitor', '--tag', '2001.01.01', '--pr', '1', '--reason', 'x', '--as', 'rm'], 1)).toMatch(/there is no pre-release 2001\.01\.01 of monitor/);

    expect(await cli(['deploy', 'monitor', '--tag', tag, '--reason', 'QA done', '--as', 'rm'])).toContain(`deploying ${tag} of monitor to production`);
    await queryUntil(stack.client.workflow.getHandle(preReleaseId('monitor', tag)), preReleaseStatusQuery, (s) => s.stage === 'released' || s.stage === 'failed', `${tag} to be released`, { timeoutMs: 60_000 });
    const status = JSON.parse(await cli(['prerelease', 'status', 'monitor', '--tag', tag, '--json'])) as PreReleaseStatus;
    expect(status?.stage, JSON.stringify(status)).toBe('released');
    expect(readFileSync(join(work, 'production'), 'utf8').trim()).toBe(tag);
    expect(await forge.latestRelease()).toMatchObject({ tag, prerelease: false });
  });
});
