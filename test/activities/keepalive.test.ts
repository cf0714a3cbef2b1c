/**
 * A long step heartbeats by itself while its driver waits: a GitHub Actions deploy polled every
 * 20 s (longer than a 15 s heartbeat timeout) must not look like a dead worker between polls, and
 * every heartbeat keeps the run's id for a resumed attempt.
 */
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { createActivities } from '../../activities/index.js';
import { createDrivers } from '../../activities/registry.js';
import { parseConfig } from '../../domain/config.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { sdkLogger } from '../../workers/worker.js';

/** What activities log goes to the test file's SDK log (test/setup/sdk-log.ts), not the suite's output. */
const QUIET = { logger: sdkLogger('INFO') };

let github: FakeGitHub;
beforeAll(async () => {
  github = await startFakeGitHub();
  github.commit(github.defaultBranch, 'feat: a');
});
afterAll(() => github?.close());

describe('long steps keep heartbeating', () => {
  it('between polls of a slow driver, with the run id in every heartbeat', { timeout: 30_000 }, async () => {
    process.env.KEEPALIVE_GITHUB_TOKEN = github.token;
    const deploy = { kind: 'github-actions', workflow: 'deploy.yml', inputs: { tag: '{tag}' }, pollSeconds: 20 };
    const parsed = parseConfig({
      services: {
        api: {
          forge: { kind: 'github', repository: github.repository, apiUrl: github.url, tokenEnv: 'KEEPALIVE_GITHUB_TOKEN', defaultBranch: github.defaultBranch },
          heartbeatSeconds: 15,
          environments: { staging: { deploy }, production: { deploy } },
        },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const activities = createActivities({ config: parsed.config, drivers: createDrivers(parsed.config, '.', () => undefined), client: {} as Client });
    // As the train runs it: with the service's heartbeat timeout.
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 15_000 }, QUIET);
    const beats: { at: number; details: unknown }[] = [];
    env.on('heartbeat', (details: unknown) => beats.push({ at: Date.now(), details }));
    const started = Date.now();
    const running = env.run(activities.deploy, { service: 'api', environment: 'staging' as const, tag: github.defaultBranch, commit: '', trainId: 'train/api/x' }).catch((err: unknown) => err);
    // The driver heartbeats once (the run it started) and would not again before its poll at 20 s:
    // a second heartbeat well before that is the keep-alive's (every 5 s).
    await pollUntil('a second heartbeat', () => beats.length >= 2, { timeoutMs: 15_000 });
    env.cancel();
    await running;
    const inWindow = beats.filter((b) => b.at - started < 11_000);
    expect(inWindow.length).toBeGreaterThanOrEqual(2);
    const runId = (inWindow[0]?.details as { runId?: string } | undefined)?.runId;
    expect(runId).toMatch(/^\d+$/);
    for (const b of inWindow) expect(b.details).toEqual({ runId });
    expect(github.state.runs.size).toBe(1);
  });
});
