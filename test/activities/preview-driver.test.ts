/**
 * The `command` preview driver running the demo's real script (demo/preview.mjs): a real process
 * per preview on a free port, a "database" folder, and a destroy that leaves nothing behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandPreviewDriver, previewDrivers, urlFromOutput } from '../../activities/preview.js';
import { TrainyardError } from '../../domain/errors.js';
import { projectRoot } from '../../workers/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'previews-'));
const script = join(projectRoot(), 'demo', 'preview.mjs');
const driverConfig = (env: Record<string, string> = {}) => ({
  kind: 'command' as const,
  create: [process.execPath, script, 'create'],
  update: [process.execPath, script, 'update'],
  destroy: [process.execPath, script, 'destroy'],
  env: { PREVIEW_DIR: dir, ...env },
  timeoutSeconds: 30,
});
const ctx = { signal: new AbortController().signal, heartbeat: () => undefined };
const sha1 = '1111111111111111111111111111111111111111';
const sha2 = '2222222222222222222222222222222222222222';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CommandPreviewDriver with demo/preview.mjs', () => {
  it('creates a running preview, redeploys it on the same URL, and destroys it idempotently', async () => {
    const driver = new CommandPreviewDriver('web', driverConfig(), projectRoot());
    const { url } = await driver.create('web-pr-1', { sha: sha1, pr: 1 }, ctx);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(((await (await fetch(`${url}version`)).json()) as { version: string }).version).toBe(sha1);
    const pid = Number(readFileSync(join(dir, 'web-pr-1', 'pid'), 'utf8'));
    expect(existsSync(join(dir, 'web-pr-1', 'database', 'schema.sql'))).toBe(true);

    await driver.update('web-pr-1', sha2, ctx);
    expect(((await (await fetch(`${url}version`)).json()) as { version: string }).version).toBe(sha2);

    await driver.destroy('web-pr-1', ctx);
    expect(existsSync(join(dir, 'web-pr-1'))).toBe(false);
    expect(alive(pid)).toBe(false);
    await expect(fetch(`${url}version`)).rejects.toThrow();
    await driver.destroy('web-pr-1', ctx); // nothing left: still fine
  }, 30_000);

  it('a create that fails after making its database fails with the output; destroy removes the database', async () => {
    const driver = new CommandPreviewDriver('web', driverConfig({ PREVIEW_FAIL_AFTER: 'database' }), projectRoot());
    const err = await driver.create('web-pr-2', { sha: sha1, pr: 2 }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainyardError);
    expect((err as TrainyardError).code).toBe('DEPLOY_FAILED');
    expect((err as TrainyardError).message).toMatch(/preview create of web-pr-2: .* exited with 1.*failed after its database was created/s);
    expect(existsSync(join(dir, 'web-pr-2', 'database'))).toBe(true);
    await driver.destroy('web-pr-2', ctx);
    expect(existsSync(join(dir, 'web-pr-2'))).toBe(false);
  }, 30_000);

  it('takes the URL from the last URL line, and names a service without previews', () => {
    expect(urlFromOutput('starting\nhttp://a/\nnoise https://x in text\nhttps://b.example/x\n')).toBe('https://b.example/x');
    expect(urlFromOutput('no url')).toBeUndefined();
    expect(() => previewDrivers({}, '.')('web')).toThrow(/service "web" has no preview environments configured/);
  });
});
