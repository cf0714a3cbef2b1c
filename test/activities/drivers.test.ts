/** The command deployer and the checks, with real programs and a real HTTP service on loopback. */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandCheck } from '../../activities/checks/command.js';
import { HttpCheck, readVersion } from '../../activities/checks/http.js';
import { CommandDeployer } from '../../activities/deploy/command.js';
import { TrainyardError } from '../../domain/errors.js';
import type { CommandDriverConfig, HttpCheckConfig } from '../../domain/config.js';

let dir: string;
let server: Server;
let base: string;
let healthy = true;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trainyard-drivers-'));
  server = createServer((req, res) => {
    if (req.url === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: 'api/v1.1' }));
    } else {
      res.writeHead(healthy ? 200 : 503);
      res.end(healthy ? 'ok' : 'down');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = () => ({ signal: new AbortController().signal, heartbeat: () => undefined });
const req = { service: 'api', environment: 'staging' as const, tag: 'api/v1.1', commit: 'abc123', trainId: 'train/api/api/v1.1' };
const command = (argv: string[], timeoutSeconds = 30): CommandDriverConfig => ({ kind: 'command', command: argv, timeoutSeconds });

describe('CommandDeployer', () => {
  it('runs the program with the train in its environment, without a shell', async () => {
    const script = join(dir, 'record.mjs');
    writeFileSync(script, `import { writeFileSync } from 'node:fs'; writeFileSync(process.argv[2], JSON.stringify({ args: process.argv.slice(3), env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TRAINYARD_'))) }));`);
    const out = join(dir, 'out.json');
    await new CommandDeployer(command([process.execPath, script, out, '$(touch pwned)', '; rm -rf /']), dir).deploy(req, ctx());
    const seen = JSON.parse(readFileSync(out, 'utf8'));
    expect(seen.args).toEqual(['$(touch pwned)', '; rm -rf /']);
    expect(seen.env).toEqual({
      TRAINYARD_SERVICE: 'api',
      TRAINYARD_ENVIRONMENT: 'staging',
      TRAINYARD_TAG: 'api/v1.1',
      TRAINYARD_COMMIT: 'abc123',
      TRAINYARD_TRAIN_ID: 'train/api/api/v1.1',
    });
  });

  it('fails with the exit code and the tail of the output', async () => {
    const deployer = new CommandDeployer(command([process.execPath, '-e', 'console.log("pulling image"); console.error("registry said 503"); process.exit(3)']), dir);
    const err = await deployer.deploy(req, ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainyardError);
    expect((err as TrainyardError).code).toBe('DEPLOY_FAILED');
    expect((err as TrainyardError).message).toMatch(/exited with 3.*registry said 503/s);
  });

  it('kills a deploy that runs past its timeout', async () => {
    const deployer = new CommandDeployer(command([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], 1), dir);
    const started = Date.now();
    const err = (await deployer.deploy(req, ctx()).catch((e: unknown) => e)) as TrainyardError;
    expect(err.code).toBe('DEPLOY_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops the program when the activity is cancelled', async () => {
    const controller = new AbortController();
    const deployer = new CommandDeployer(command([process.execPath, '-e', 'setTimeout(() => {}, 60000)']), dir);
    setTimeout(() => controller.abort(), 200);
    const err = (await deployer.deploy(req, { signal: controller.signal, heartbeat: () => undefined }).catch((e: unknown) => e)) as TrainyardError;
    expect(err.message).toMatch(/cancelled/);
  });

  it('says when the program does not exist', async () => {
    const err = (await new CommandDeployer(command(['no-such-program-xyz']), dir).deploy(req, ctx()).catch((e: unknown) => e)) as TrainyardError;
    expect(err.code).toBe('COMMAND_NOT_FOUND');
  });
});

describe('checks', () => {
  const http = (over: Partial<HttpCheckConfig>): HttpCheckConfig => ({ kind: 'http', urls: [`${base}/health`], expectStatus: 200, expectVersion: false, settleSeconds: 2, timeoutSeconds: 2, ...over });
  const check = { ...req, check: 'smoke' as const };

  it('http: passes on the expected status and version', async () => {
    healthy = true;
    expect(await new HttpCheck(http({})).run(check, ctx())).toMatchObject({ passed: true });
    expect(await new HttpCheck(http({ urls: [`${base}/version`], expectVersion: true })).run(check, ctx())).toMatchObject({ passed: true });
  });

  it('http: fails after the settle period with what was wrong', async () => {
    healthy = false;
    const result = await new HttpCheck(http({ settleSeconds: 1 })).run(check, ctx());
    healthy = true;
    expect(result).toMatchObject({ passed: false, summary: expect.stringContaining('answered 503, expected 200') });
    const wrong = await new HttpCheck(http({ urls: [`${base}/version`], expectVersion: true, settleSeconds: 1 })).run({ ...check, tag: 'api/v1.2' }, ctx());
    expect(wrong.summary).toContain('reports version api/v1.1, expected api/v1.2');
  });

  it('http: an unreachable URL is a failed check, not a crash', async () => {
    const result = await new HttpCheck(http({ urls: ['http://127.0.0.1:1/health'], settleSeconds: 1 })).run(check, ctx());
    expect(result.passed).toBe(false);
    expect(result.summary).toMatch(/did not answer/);
  });

  it('command: exit code 0 passes, anything else fails with the output', async () => {
    const pass = await new CommandCheck(command([process.execPath, '-e', 'process.exit(0)']), dir).run(check, ctx());
    const fail = await new CommandCheck(command([process.execPath, '-e', 'console.log("2 specs failed"); process.exit(1)']), dir).run(check, ctx());
    expect(pass.passed).toBe(true);
    expect(fail).toMatchObject({ passed: false, summary: expect.stringContaining('2 specs failed') });
  });

  it('reads the version an environment reports, null when it does not answer', async () => {
    expect(await readVersion(`${base}/version`)).toBe('api/v1.1');
    expect(await readVersion('http://127.0.0.1:1/version', 500)).toBeNull();
  });
});
