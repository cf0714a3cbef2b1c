/**
 * Where a version bump's notes go: progress to the bump's `notify`, the component team's notes
 * (a regression, with the failing job's link) to `teamNotify`, through real notifiers to real HTTP
 * receivers on loopback; without any, the worker's log.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BumpNote } from '../../activities/version-bump.js';
import { parseConfig, type TrainyardConfig } from '../../domain/config.js';
import { versionBumpDeps } from '../../workers/worker.js';

const received: Record<string, { text: string; link?: string; trainId: string }[]> = { progress: [], team: [] };
let server: Server;
let base = '';
let refuseTeam = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const which = (req.url ?? '').slice(1);
      if (which === 'team' && refuseTeam) return void res.writeHead(503).end();
      received[which]?.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.BUMP_HOOK_SECRET = 'bump-hook-secret';
});
afterAll(() => server?.close());

function config(extra: Record<string, unknown>): TrainyardConfig {
  const forge = { kind: 'local-git', path: 'repo' };
  const result = parseConfig({
    services: { gitlab: { forge, environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } } },
    versionBumps: [{ component: 'gitaly', consumer: 'gitlab', componentForge: forge, consumerForge: forge, ...extra }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const note = (audience: BumpNote['audience'], text: string): BumpNote => ({ bumpId: 'bump/gitaly/gitlab', component: 'gitaly', consumer: 'gitlab', event: 'blocked', audience, text, link: 'https://ci.test/jobs/7' });

describe('version bump notes', () => {
  it('progress goes to notify, the team to teamNotify, with the failing job link', async () => {
    const hook = (path: string) => ({ kind: 'webhook', url: `${base}/${path}`, secretEnv: 'BUMP_HOOK_SECRET' });
    const deps = versionBumpDeps({ config: config({ notify: [hook('progress')], teamNotify: [hook('team')] }), baseDir: '.', log: () => undefined });
    await deps.notify(note('progress', 'opened !12'));
    await deps.notify(note('team', 'regression: rspec failed'));
    expect(received.progress?.map((n) => n.text)).toEqual(['blocked: opened !12']);
    expect(received.team).toEqual([expect.objectContaining({ text: '[gitaly team] blocked: regression: rspec failed', link: 'https://ci.test/jobs/7', trainId: 'bump/gitaly/gitlab' })]);
    // A team notifier that is down fails the note (the activity retries it).
    refuseTeam = true;
    await expect(deps.notify(note('team', 'again'))).rejects.toThrow(/503/);
    refuseTeam = false;
  });

  it('without teamNotify the team hears through notify; without either, the worker log', async () => {
    const lines: string[] = [];
    const onlyNotify = versionBumpDeps({ config: config({ notify: [{ kind: 'webhook', url: `${base}/progress`, secretEnv: 'BUMP_HOOK_SECRET' }] }), baseDir: '.', log: (l) => lines.push(l) });
    const before = received.progress?.length ?? 0;
    await onlyNotify.notify(note('team', 'broken master'));
    expect(received.progress?.slice(before).map((n) => n.text)).toEqual(['[gitaly team] blocked: broken master']);
    const none = versionBumpDeps({ config: config({}), baseDir: '.', log: (l) => lines.push(l) });
    await none.notify(note('progress', 'merged'));
    expect(lines.join('\n')).toContain('blocked: merged');
  });
});
