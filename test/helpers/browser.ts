/**
 * A real browser for tests that look at the Temporal UI as a person does: the system's headless
 * Chromium (found or installed by `npm run setup`) driven by playwright-core, with a fresh profile
 * and nothing that phones home. Screenshots go to the ignored data folder as test artefacts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumPath } from '../../client/toolchain.js';
import { projectRoot } from '../../workers/bundle.js';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  page: Page;
  /** Saves a full-page screenshot as `<artefacts>/<name>.png` and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Where a test's screenshots go: `.trainyard/artifacts/ui/<suite>/` (ignored by git). */
export function artefactDir(suite: string): string {
  const dir = join(projectRoot(), '.trainyard', 'artifacts', 'ui', suite);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function openBrowser(suite: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'trainyard-chromium-'));
  // A persistent context is how Playwright takes a --user-data-dir of our choosing: a fresh one.
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dir = artefactDir(suite);
  return {
    page,
    async screenshot(name) {
      const file = join(dir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
