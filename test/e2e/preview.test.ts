/**
 * A preview environment end to end: the real dev server, the worker's preview activities with the
 * demo's real driver script (a process per preview), the fake GitHub for the PR and its comments,
 * and the webhook receiver fed real signed deliveries. Open → URL commented and answering; close →
 * the process is gone.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll.js';
import { createPreviewActivities, previewDrivers } from '../../activities/preview.js';
import { startWebhookReceiver } from '../../client/webhooks.js';
import { prebuiltBundlePath, projectRoot } from '../../workers/bundle.js';
import { WORKER_TUNING } from '../../workers/worker.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { forgeFor } from '../forge/github-fixture.js';
import { devServerEnv, type DevServerEnv } from '../helpers/temporal.js';

const SECRET = 'e2e-hook-secret-RECOGNISABLE';
let env: DevServerEnv;
let fake: FakeGitHub;
const dir = mkdtempSync(join(tmpdir(), 'e2e-previews-'));

beforeAll(async () => {
  [env, fake] = await Promise.all([devServerEnv(), startFakeGitHub({ repo: 'web' })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([env?.teardown(), fake?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  return pollUntil(what, probe, { timeoutMs: ms, intervalMs: 100, stopOn: () => true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('preview environment end to end', () => {
  it('opening a PR comments a working preview URL; closing it stops the preview', async () => {
    const forge = forgeFor(fake);
    const script = join(projectRoot(), 'demo', 'preview.mjs');
    const driverFor = previewDrivers(
      { web: { driver: { kind: 'command', create: [process.execPath, script, 'create'], update: [process.execPath, script, 'update'], destroy: [process.execPath, script, 'destroy'], env: { PREVIEW_DIR: dir }, timeoutSeconds: 30 } } },
      projectRoot(),
    );
    const taskQueue = 'preview-e2e';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: prebuiltBundlePath() }, activities: createPreviewActivities({ driverFor, forgeFor: () => forge }), ...WORKER_TUNING });
    const receiver = await startWebhookReceiver({ client: env.client, taskQueue, port: 0, github: { secret: SECRET }, services: { [fake.repository]: 'web' }, previews: { web: { quietSeconds: 2, ttlHours: 1 } } });

    const head = fake.commit('feature', 'a feature', { 'feature.txt': 'hi\n' });
    const { change } = await forge.openChangeRequest({ sourceBranch: 'feature', targetBranch: fake.defaultBranch, title: 'A feature', body: '' });
    const deliver = async (action: string, merged = false) => {
      const body = JSON.stringify({ action, number: change.number, pull_request: { number: change.number, head: { sha: head }, merged }, repository: { full_name: fake.repository }, sender: { login: 'ada' } });
      const res = await fetch(`${receiver.url}/webhooks/github`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
      });
      expect(res.status, await res.text()).toBe(202);
    };

    try {
      await worker.runUntil(async () => {
        const started = Date.now();
        await deliver('opened');
        const comment = await eventually('the preview comment', () => fake.comments(change.number).find((c) => c.includes('is ready')));
        const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(comment)?.[0];
        if (process.env.PRINT_FIGURES) console.log(`FIGURE webhook to preview URL commented: ${Date.now() - started} ms`);
        expect(url).toBeDefined();
        expect(await (await fetch(`${url}version`)).json()).toMatchObject({ version: head });
        const pid = Number(readFileSync(join(dir, `web-pr-${change.number}`, 'pid'), 'utf8'));

        await deliver('closed');
        await env.client.workflow.getHandle(`preview/web/${change.number}`).result();
        expect(alive(pid)).toBe(false);
        expect(existsSync(join(dir, `web-pr-${change.number}`))).toBe(false);
        await expect(fetch(`${url}version`)).rejects.toThrow();
        expect(fake.comments(change.number).at(-1)).toMatch(/destroyed \(closed\)/);
      });
    } finally {
      await receiver.close();
    }
  }, 90_000);
});
