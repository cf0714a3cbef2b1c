/**
 * The demo train end to end on the real dev server: real git, real processes, real HTTP, operated
 * through the `trainyard` CLI as a release manager would.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { connectClient, localTarget } from '../../client/temporal.js';
import { commitChange } from '../../demo/demo.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';

let demo: DemoEnv;

beforeAll(async () => {
  demo = await startDemoEnv();
});
afterAll(async () => {
  await demo?.stop();
});

describe('the demo train through the CLI', () => {
  it('cuts, deploys to staging, runs E2E, waits, and goes to production on promote', async () => {
    const started = await demo.bin(['start', 'demo', '--reason', 'weekly release', '--as', 'carol']);
    expect(started.code, started.stderr).toBe(0);
    const trainId = /started (train\/demo\/\S+)/.exec(started.stdout)?.[1];
    expect(trainId).toMatch(/^train\/demo\/demo\/v\d{4}\.\d{2}\.\d{2}\.1$/);
    const tag = trainId!.slice('train/demo/'.length);
    // People read the release slot in the service's zone, with its offset.
    expect(started.stdout).toMatch(/release slot \d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ \(UTC[+-]\d{2}:\d{2}\)/);

    const waiting = await demo.waitForStage('demo', 'awaiting-release');
    expect(waiting.e2e?.passed).toBe(true);
    expect(await demo.versionAt(demo.ports.staging)).toBe(tag);

    // The Temporal UI's search (and `temporal workflow list --query`) finds it as the README says.
    const client = await connectClient(localTarget(demo.server.address));
    try {
      const query = `TrainyardStatus = "waiting" AND TrainyardEnvironment = "staging" AND TrainyardService = "demo"`;
      const found = await pollUntil(`the list query ${query} to find the train`, async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.length > 0 && ids;
      }, { timeoutMs: 10_000, intervalMs: 200 });
      expect(found).toEqual([trainId]);
    } finally {
      await client.connection.close();
    }

    const list = await demo.cli(['status']);
    expect(list.stdout).toContain(trainId);
    expect(list.stdout).toContain('awaiting-release');

    const promoted = await demo.bin(['promote', 'demo', '--reason', 'QA signed off', '--as', 'alice']);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain('by alice: QA signed off');

    const released = await demo.waitForStage(trainId!, 'released');
    expect(await demo.versionAt(demo.ports.production)).toBe(tag);
    expect(demo.logs.some((l) => l.includes(`annotation: demo production runs ${tag} since`))).toBe(true);
    expect(demo.logs.some((l) => l.includes(`demo released: ${tag} is live in production.`))).toBe(true);
    expect(released.actions).toMatchObject([{ kind: 'promote', by: 'alice', reason: 'QA signed off' }]);

    const detail = await demo.cli(['status', trainId!]);
    expect(detail.stdout).toMatch(/Stage\s+released/);
    expect(detail.stdout).toMatch(/promote\s+alice/);
    // What runs where comes from the environments' ledgers, and the changelog is linked.
    const running = /^Running\s+staging=(\S+) \(since [^)]+\)\) production=(\S+) /m.exec(detail.stdout);
    expect(running?.slice(1), detail.stdout).toEqual([tag, tag]);
    expect(detail.stdout).toMatch(/^Changelog file:\/\/\S+ \(\d+ commits?\)$/m);
    // The tag names the train too.
    const byTag = await demo.cli(['status', tag, '--json']);
    expect(byTag.code, byTag.stderr).toBe(0);
    expect(JSON.parse(byTag.stdout)).toMatchObject({ trainId, stage: 'released' });

    // `watch` shows every stage the train went through, however short, at the time it began.
    const watched = await demo.bin(['watch', tag]);
    expect(watched.code, watched.stderr).toBe(0);
    const stages = watched.stdout.trim().split('\n').map((l) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+ \(UTC[+-]\d{2}:\d{2}\)  (\S+)/.exec(l)?.[1]);
    expect(stages).toEqual(released.stages.map((r) => r.stage));
    expect(stages).toContain('production');
  });

  it("the next train's changelog starts at the version production verified", async () => {
    const first = await demo.statusOf('demo');
    expect(first.stage).toBe('released');
    expect(first.changelog?.fromTag).toBeUndefined(); // first release of the service
    commitChange(demo.dir, 'Fix the checkout total (#42)');
    const started = await demo.cli(['start', 'demo', '--reason', 'a second train']);
    expect(started.code, started.stderr).toBe(0);
    const trainId = /started (train\/demo\/\S+)/.exec(started.stdout)?.[1];
    const second = await demo.waitForStage(trainId!, 'awaiting-release');
    expect(second.changelog).toMatchObject({ fromTag: first.tag, commits: 1, truncated: false });
    const notes = readFileSync(fileURLToPath(second.changelog!.url), 'utf8');
    expect(notes).toContain(`Changes since ${first.tag}`);
    expect(notes).toContain('Fix the checkout total (#42');
    expect(notes).not.toContain('Serve /version and /health'); // already in production
    await demo.cli(['abort', trainId!, '--reason', 'test done']);
  });

  it('changelog refuses a --from tag that does not exist, naming those that do, and regenerates the notes of ended trains', async () => {
    // The service's latest train is the second, aborted by the test before; the first was released.
    const aborted = await demo.waitForStage('demo', ['aborted', 'released']);
    expect(aborted.tag).toMatch(/\.2$/);
    const released = await demo.statusOf(aborted.tag.replace(/\.2$/, '.1'));
    expect([aborted.stage, released.stage]).toEqual(['aborted', 'released']);

    // A misspelled base would rewrite the notes from the first commit: refused, with the tags there are.
    const typo = await demo.cli(['changelog', released.tag, '--from', 'demo/v1999.01.01.1', '--reason', 'typo']);
    expect(typo.stderr).toMatch(
      new RegExp(`^changelog rejected: could not publish the changelog of ${released.tag}: the previous tag "demo/v1999\\.01\\.01\\.1" is not a tag of demo's repository\\. Its newest release tags: ${aborted.tag}, ${released.tag}\\n$`),
    );
    expect(typo.code).toBe(1);

    // An ended train takes no update: its production ledger publishes the notes, recording who and why.
    const again = await demo.cli(['changelog', aborted.tag, '--reason', 'the notes missed a fix', '--as', 'dora']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^changelog of ${aborted.trainId} \\(aborted\\): file://\\S+ \\(since ${released.tag}\\)\\n$`));
    expect(demo.logs.some((l) => l.includes(`Changelog of ${aborted.tag} regenerated by dora (since ${released.tag})`) && l.includes('(the notes missed a fix)'))).toBe(true);

    // A released train's notes still end at its own tag and start where production was before it
    // (here: nowhere, it was the first release), not at what production runs now.
    const regenerated = await demo.cli(['changelog', released.tag, '--reason', 're-render']);
    expect(regenerated.code, regenerated.stderr).toBe(0);
    const url = /: (file:\/\/\S+)/.exec(regenerated.stdout)?.[1];
    const notes = readFileSync(fileURLToPath(url!), 'utf8');
    expect(notes).toContain('Serve /version and /health');
    expect(notes).not.toContain('Fix the checkout total');
    expect(notes).not.toContain('Changes since');
  });

  it('setup finds the search attributes the embedded server registered', async () => {
    const out = await demo.cli(['setup']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('search attributes already registered on default');
  });

  it('explains what is wrong with bad operator input', async () => {
    const unknown = await demo.bin(['promote', 'no-such-service', '--reason', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/"no-such-service" is neither a train id, a train's tag, nor a service with an active train/);

    const noReason = await demo.cli(['promote', 'demo']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);

    const missing = await demo.cli(['promote', 'train/demo/demo/v2000.01.01.1', '--reason', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/there is no train train\/demo\/demo\/v2000\.01\.01\.1/);

    // A train that ended says how, and what to do instead (not the SDK's "workflow execution already completed").
    const released = await demo.waitForStage('demo', ['aborted', 'released']);
    const first = released.tag.replace(/\.2$/, '.1');
    const late = await demo.cli(['abort', first, '--reason', 'too late']);
    expect(late.stderr).toMatch(
      new RegExp(`^abort rejected: train/demo/${first.replace(/\./g, '\\.')} has ended \\(released at \\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z\\); it takes no more actions: \`trainyard start demo\` cuts the next train; \`trainyard changelog ${first.replace(/\./g, '\\.')}\` still regenerates its notes\\n$`),
    );
    expect(late.code).toBe(1);
  });
});
