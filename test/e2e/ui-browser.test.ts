/**
 * The Temporal UI as a release manager sees it, in a real (headless) browser: the demo train on a
 * dev server with its UI, a worker and the demo's real environments. Screenshots are saved under
 * .trainyard/artifacts/ui/ui-browser/ for a person to look at.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitChange } from '../../demo/demo.js';
import { openBrowser, type Browser } from '../helpers/browser.js';
import { startDemoEnv, type DemoEnv } from '../helpers/demo-env.js';
import { pollUntil } from '../helpers/poll.js';

let demo: DemoEnv;
let browser: Browser;
let page: Page;
let ui: string;
let trainId: string;
let tag: string;

async function cut(): Promise<string> {
  const started = await demo.cli(['start', 'demo', '--reason', 'weekly release', '--as', 'carol']);
  expect(started.code, started.stderr).toBe(0);
  return /started (train\/demo\/\S+)/.exec(started.stdout)![1]!;
}

/**
 * Polls that load a page: an attempt is a page load, which takes seconds on a loaded machine, so it
 * is never abandoned half-way (an abandoned attempt went on navigating the one page while the next
 * began: under load every attempt was abandoned and the poll timed out with the train long ended).
 */
const PAGE_POLL = { attemptMs: 25_000, intervalMs: 250, timeoutMs: 40_000 };

/** Opens the workflow list for `query` and waits until the UI lists `workflowId` there. */
async function openList(query: string, workflowId: string): Promise<void> {
  const url = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  // Visibility is eventually consistent: reload until the row is there.
  await pollUntil(`the UI to list ${workflowId} for ${query}`, async () => {
    await page.goto(url);
    const row = page.getByRole('link', { name: workflowId, exact: true });
    return (await row.waitFor({ timeout: 3_000 }).then(() => true, () => false)) || undefined;
  }, PAGE_POLL);
}

/** The train's page on the given tab ('history' or 'metadata'), once its header is shown. */
async function openTrain(id: string, tab?: 'User Metadata'): Promise<void> {
  await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(id)}`);
  await page.getByRole('heading', { name: id }).or(page.getByText(id, { exact: true })).first().waitFor();
  if (tab) await page.getByRole('link', { name: tab }).or(page.getByRole('tab', { name: tab })).first().click();
}

/** The status badge in a train page's header ("Running", "Completed", "Failed", "Canceled"…). */
async function headerStatus(id: string): Promise<string> {
  await openTrain(id);
  const lines = (await page.locator('main').innerText()).split('\n').map((l) => l.trim());
  return lines[lines.indexOf('Back to Workflows') + 1] ?? '';
}

/** The UI renders summary, details and current details as Markdown, each in its own frame. */
async function renderedMarkdown(containing: string): Promise<string> {
  return pollUntil(`a rendered Markdown frame containing "${containing}"`, async () => {
    for (const frame of page.frames().filter((f) => f.url().includes('/render?'))) {
      const text = await frame.locator('body').innerText().catch(() => '');
      if (text.includes(containing)) return text;
    }
    return undefined;
  });
}

beforeAll(async () => {
  demo = await startDemoEnv('', { ui: true });
  ui = demo.server.uiUrl!.replace('localhost', '127.0.0.1');
  browser = await openBrowser('ui-browser');
  page = browser.page;
  trainId = await cut();
  tag = trainId.slice('train/demo/'.length);
  await demo.waitForStage(trainId, 'awaiting-release');
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('the Temporal UI in a browser', () => {
  it("lists a service's trains by the README's search-attribute query", async () => {
    await openList('TrainyardService = "demo"', trainId);
    await openList('TrainyardStage = "awaiting-release"', trainId);
    const row = page.getByRole('row').filter({ hasText: trainId });
    expect(await row.innerText()).toContain('Running');
    expect(await row.innerText()).toContain('releaseTrain');
    await browser.screenshot('01-trains-awaiting-release');
  });

  it("shows the train's summary and current details: stage table, what it waits for, the changelog", async () => {
    await openTrain(trainId, 'User Metadata');
    expect(await renderedMarkdown('Release train')).toBe(`Release train ${tag} of demo`);
    const details = await renderedMarkdown('Waiting for:');
    expect(details).toContain(`${tag}: awaiting-release`);
    expect(details).toMatch(/Waiting for: the release time .* or a promote/);
    for (const stage of ['cut', 'staging', 'e2e', 'awaiting-release']) expect(details).toMatch(new RegExp(`^${stage}\\t`, 'm'));
    // The local forge's notes are a file: the UI says where, rather than a link it cannot open.
    expect(details).toMatch(/Changelog: \d+ commits?, in \/\S+\.md on the machine of the local forge/);
    for (const frame of page.frames()) expect(await frame.locator('a[href^="file:"]').count()).toBe(0);
    const text = await page.locator('main').innerText();
    // Activity summaries, listed as "Events with Metadata".
    for (const summary of [`Deploy ${tag} to staging`, `Smoke test ${tag} in staging`, `E2E tests of ${tag} in staging`, `Publish the changelog of ${tag}`]) {
      expect(text).toContain(summary);
    }
    expect(text).toMatch(new RegExp(`Tag [0-9a-f]{12} as ${tag.replaceAll('.', '\\.')}`));
    await browser.screenshot('02-train-current-details');
  });

  it("shows activity summaries in the train's timeline", async () => {
    await openTrain(trainId);
    const deploy = page.getByText(`Deploy ${tag} to staging`).first();
    await deploy.waitFor();
    expect(await page.getByText(`E2E tests of ${tag} in staging`).count()).toBeGreaterThan(0);
    await browser.screenshot('03-train-timeline');
  });

  // Two trains, each run to its end through the demo's real environments: one test each, so each
  // has the whole test timeout for its train (one test for both ran past it on a loaded machine).
  it('a released train ends Completed', async () => {
    const promoted = await demo.cli(['promote', trainId, '--reason', 'QA signed off', '--as', 'alice']);
    expect(promoted.code, promoted.stderr).toBe(0);
    await demo.waitForStage(trainId, 'released');
    await pollUntil('the UI to show the released train Completed', async () => (await headerStatus(trainId)) === 'Completed' || undefined, PAGE_POLL);
    await browser.screenshot('04-released-train');
  });

  it('a train that ended without a release does not look released', async () => {
    commitChange(demo.dir, 'Fix the checkout total (#42)');
    const second = await cut();
    await demo.waitForStage(second, 'awaiting-release');
    const aborted = await demo.cli(['abort', second, '--reason', 'wrong commit', '--as', 'alice']);
    expect(aborted.code, aborted.stderr).toBe(0);
    const status = await pollUntil('the UI to show the aborted train ended', async () => {
      const s = await headerStatus(second);
      return s !== 'Running' ? s : undefined;
    }, PAGE_POLL);
    // Aborted through the `abort` update: the workflow fails, typed, saying why.
    expect(status).toBe('Failed');
    await page.getByText(/ended aborted: alice: wrong commit; it was not released/).first().waitFor();
    await browser.screenshot('05-aborted-train');
    await openList('TrainyardService = "demo" AND ExecutionStatus = "Completed"', trainId);
    expect(await page.getByRole('link', { name: second, exact: true }).count()).toBe(0);
  });
});
