/** The preview's pure decisions: names, event folding, coalescing of pushes, idle TTL, config. */
import { describe, expect, it } from 'vitest';
import { applyPreviewEvent, decidePreview, initialPreviewState, previewName, previewWorkflowId, type PreviewState } from '../../domain/preview.js';
import { previewsConfigSchema, webhooksConfigSchema } from '../../domain/preview-config.js';

const timing = { quietMs: 30_000, ttlMs: 3_600_000 };
const ev = (kind: 'opened' | 'pushed' | 'closed' | 'merged', sha: string) => ({ service: 'web', pr: 5, kind, sha });

describe('preview names', () => {
  it('are DNS labels named after the PR, keeping the number whatever the service name', () => {
    expect(previewWorkflowId('web', 5)).toBe('preview/web/5');
    expect(previewName('Web_App', 5)).toBe('web-app-pr-5');
    const long = previewName('x'.repeat(100), 123456);
    expect(long).toHaveLength(63);
    expect(long.endsWith('-pr-123456')).toBe(true);
  });
});

describe('decidePreview', () => {
  const opened = (): PreviewState => applyPreviewEvent(initialPreviewState('web', 5, 0), ev('opened', 'a1'), 0);

  it('creates at once on open, then waits for pushes within the TTL', () => {
    expect(decidePreview(opened(), 0, timing)).toEqual({ kind: 'create', sha: 'a1' });
    const ready: PreviewState = { ...opened(), phase: 'ready', deployedSha: 'a1' };
    expect(decidePreview(ready, 1000, timing)).toMatchObject({ kind: 'wait', ms: 3_599_000 });
  });

  it('coalesces a burst: waits for the quiet period after the last push, then deploys the newest sha once', () => {
    let s: PreviewState = { ...opened(), phase: 'ready', deployedSha: 'a1' };
    for (const [t, sha] of [[1000, 'b'], [5000, 'c'], [9000, 'd']] as const) s = applyPreviewEvent(s, ev('pushed', sha), t);
    expect(decidePreview(s, 20_000, timing)).toMatchObject({ kind: 'wait', ms: 19_000 });
    expect(decidePreview(s, 39_000, timing)).toEqual({ kind: 'update', sha: 'd' });
  });

  it('does not retry a failed sha until a new push; a failed creation is created again', () => {
    const failed: PreviewState = { ...opened(), phase: 'failed', failedSha: 'a1' };
    expect(decidePreview(failed, 60_000, timing).kind).toBe('wait');
    const pushed = applyPreviewEvent(failed, ev('pushed', 'b2'), 60_000);
    expect(decidePreview(pushed, 90_000, timing)).toEqual({ kind: 'create', sha: 'b2' });
  });

  it('destroys on close or merge (final), and when idle for the TTL', () => {
    const closed = applyPreviewEvent(opened(), ev('merged', 'a1'), 10);
    expect(decidePreview(closed, 10, timing)).toEqual({ kind: 'destroy', reason: 'merged' });
    expect(applyPreviewEvent(closed, ev('pushed', 'z'), 20).wantedSha).toBe('a1');
    expect(decidePreview({ ...opened(), phase: 'ready', deployedSha: 'a1' }, 3_600_000, timing)).toEqual({ kind: 'destroy', reason: 'idle' });
  });

  it('never asks for a zero wait', () => {
    const s: PreviewState = { ...applyPreviewEvent({ ...opened(), phase: 'ready', deployedSha: 'a1' }, ev('pushed', 'b'), 1000) };
    expect(decidePreview(s, 1000 + 30_000 - 0.5, timing)).toMatchObject({ kind: 'wait', ms: 1 });
  });
});

describe('config fragments', () => {
  it('fills defaults and reports bad drivers with their path', () => {
    const ok = previewsConfigSchema.parse({ web: { driver: { kind: 'command', create: ['c'], update: ['u'], destroy: ['d'] } } });
    expect(ok.web).toMatchObject({ ttlHours: 72, quietSeconds: 60, driver: { timeoutSeconds: 900 } });
    const bad = previewsConfigSchema.safeParse({ web: { driver: { kind: 'command', create: [], update: ['u'], destroy: ['d'], extra: 1 } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['web.driver.create', 'web.driver']));
    expect(webhooksConfigSchema.parse({})).toMatchObject({ port: 8787, host: '127.0.0.1' });
    expect(webhooksConfigSchema.safeParse({ githubSecretEnv: 'ghp_actualSecretValue' }).success).toBe(false);
  });
});
