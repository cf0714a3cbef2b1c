/**
 * Payload encryption: the AES-GCM codec, key rotation, what the Temporal server stores (on the real
 * dev server, with Trainyard's own worker and client wiring), and the codec server the Web UI calls.
 */
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodecServer, type RunningCodecServer } from '../../client/codec-server.js';
import { connectClient, connectWorker, localTarget } from '../../client/temporal.js';
import { parseConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { ledgerId } from '../../domain/ids.js';
import { AesGcmCodec, codecFromEnvironment, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../workers/codec.js';
import { createTrainyardWorker } from '../../workers/worker.js';
import { freezeUpdate, ledgerQuery } from '../../workflows/ledger-messages.js';
import { devServerEnv, type DevServerEnv } from '../helpers/temporal.js';

const b64key = () => randomBytes(32).toString('base64');
const KEY_2025 = b64key();
const KEY_2026 = b64key();
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload | undefined): unknown => defaultPayloadConverter.fromPayload(payload as Payload);
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

/** Every key string a message must never contain. */
function expectNoKeyMaterial(message: string): void {
  for (const key of [KEY_2025, KEY_2026]) {
    expect(message).not.toContain(key);
    expect(message).not.toContain(key.slice(0, 12));
  }
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** A workflow's history as the server serves it, in protobuf bytes. */
async function rawHistory(client: Client, workflowId: string): Promise<Buffer> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
}

describe('the AES-GCM payload codec', () => {
  const codec = codecFromEnvironment({ TRAINYARD_CODEC_KEYS: `k2025:${KEY_2025}` })!;

  it('round-trips payloads, and the same value encrypts differently each time', async () => {
    const value = { by: 'alice', reason: 'incident 42: ünïcödé and "quotes"' };
    const [a, b] = await codec.encode([toPayload(value), toPayload(value)]);
    expect(text(a?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(a?.metadata?.[KEY_ID_METADATA])).toBe('k2025');
    expect(text(a?.data)).not.toContain('incident 42');
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    const decoded = await codec.decode([a!, b!]);
    expect(decoded.map(fromPayload)).toEqual([value, value]);
  });

  it('passes through payloads written before encryption was turned on', async () => {
    const plain = toPayload({ written: 'before' });
    const [decoded] = await codec.decode([plain]);
    expect(fromPayload(decoded)).toEqual({ written: 'before' });
  });

  it('rotates keys: the old id still decodes, new payloads carry the new id, a codec without it says which key it lacks', async () => {
    const [old] = await codec.encode([toPayload('sealed with 2025')]);
    const rotated = codecFromEnvironment({ TRAINYARD_CODEC_KEYS: `k2026:${KEY_2026}, k2025:${KEY_2025}` })!;
    expect(fromPayload((await rotated.decode([old!]))[0])).toBe('sealed with 2025');
    const [fresh] = await rotated.encode([toPayload('sealed with 2026')]);
    expect(text(fresh?.metadata?.[KEY_ID_METADATA])).toBe('k2026');
    expect(fromPayload((await rotated.decode([fresh!]))[0])).toBe('sealed with 2026');

    const err = await rejection(codec.decode([fresh!]));
    expect(err).toBeInstanceOf(TrainyardError);
    expect(err.message).toMatch(/payload 1 was encrypted with key "k2026", which is not among the codec's keys \(k2025\)/);
    expectNoKeyMaterial(`${err.message} ${(err as TrainyardError).hint}`);
  });

  it('refuses tampered ciphertext, a relabelled key id and a truncated payload with a clear error', async () => {
    const rotated = new AesGcmCodec([
      { id: 'k2026', key: Buffer.from(KEY_2026, 'base64') },
      { id: 'k2025', key: Buffer.from(KEY_2025, 'base64') },
    ]);
    const [sealed] = await rotated.encode([toPayload({ deploy: 'api/v2026.11.23.1' })]);
    const flipped = Buffer.from(sealed!.data!);
    flipped[20] = (flipped[20] ?? 0) ^ 0x01;
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k2025') } };
    const truncated = { ...sealed!, data: flipped.subarray(0, 10) };
    for (const bad of [{ ...sealed!, data: flipped }, relabelled, truncated]) {
      const err = await rejection(rotated.decode([toPayload('fine'), bad]));
      expect(err.message).toMatch(/^payload 2 \(key "k202[56]"\) failed AES-GCM authentication: it was altered, or key "k202[56]" is not the key it was encrypted with$/);
      expectNoKeyMaterial(`${err.message} ${(err as TrainyardError).hint}`);
    }
  });

  it('reads keys from a file, and reports bad keys without printing them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-codec-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# rotated 2026-01\nk2026:${KEY_2026}\nk2025:${KEY_2025}\n`);
    expect(codecFromEnvironment({ TRAINYARD_CODEC_KEY_FILE: file })?.keyId).toBe('k2026');
    expect(codecFromEnvironment({})).toBeUndefined();

    const short = Buffer.from(KEY_2025, 'base64').subarray(0, 31).toString('base64');
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ TRAINYARD_CODEC_KEYS: `k1:${short}` }, /key "k1" \(entry 1 of TRAINYARD_CODEC_KEYS\) is 31 bytes long; AES-256 needs 32/],
      [{ TRAINYARD_CODEC_KEYS: KEY_2025 }, /entry 1 of TRAINYARD_CODEC_KEYS has no valid key id before ":"/],
      [{ TRAINYARD_CODEC_KEYS: `k1:${KEY_2025},k2:${KEY_2026}!` }, /key "k2" \(entry 2 of TRAINYARD_CODEC_KEYS\) is not base64/],
      [{ TRAINYARD_CODEC_KEYS: `k1:${KEY_2025},k1:${KEY_2026}` }, /key id "k1" appears twice/],
      [{ TRAINYARD_CODEC_KEYS: `k1:${KEY_2025}`, TRAINYARD_CODEC_KEY_FILE: file }, /both TRAINYARD_CODEC_KEYS and TRAINYARD_CODEC_KEY_FILE are set/],
      [{ TRAINYARD_CODEC_KEY_FILE: join(dir, 'missing') }, /TRAINYARD_CODEC_KEY_FILE .*missing cannot be read \(ENOENT\)/],
    ];
    for (const [env, message] of cases) {
      const err = thrown(() => codecFromEnvironment(env));
      expect(err).toBeInstanceOf(TrainyardError);
      expect((err as TrainyardError).code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(message);
      expectNoKeyMaterial(`${err.message} ${(err as TrainyardError).hint}`);
    }
  });
});

describe('on the real dev server', () => {
  let env: DevServerEnv;
  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('the server stores only ciphertext; the worker and a client with the key read it, a client without it cannot', async () => {
    const MARKER = `operator-Zebra-${randomBytes(6).toString('hex')}`;
    const REASON = `incident-Quokka-${randomBytes(6).toString('hex')}`;
    const keys = { TRAINYARD_CODEC_KEYS: `k2026:${KEY_2026}` };
    const target = localTarget(env.address, env.namespace ?? 'default', keys);
    const parsed = parseConfig({
      temporal: { taskQueue: 'codec-test' },
      services: {
        vault: {
          forge: { kind: 'local-git', path: '/nonexistent' },
          environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } },
        },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const logged: string[] = [];
    // The codec the client target read from its environment (the worker reads process.env itself when given none).
    const worker = await createTrainyardWorker({ connection: await connectWorker(target), namespace: target.namespace, config: parsed.config, baseDir: '/', log: (l) => logged.push(l), codec: target.codec! });
    const client = await connectClient(target);
    const plain = new Client({ connection: env.connection, namespace: target.namespace });
    const id = ledgerId('vault', 'production');
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('environmentLedger', {
          workflowId: id,
          taskQueue: 'codec-test',
          args: [{ service: 'vault', environment: 'production', config: { operators: [{ name: MARKER, rights: ['freeze'] }] } }],
        });
        const view = await handle.executeUpdate(freezeUpdate, { args: [{ by: MARKER, reason: REASON }] });
        expect(view).toMatchObject({ frozen: true, by: MARKER, reason: REASON });
        const ledger = await handle.query(ledgerQuery);
        expect(ledger.operators).toEqual([{ name: MARKER, rights: ['freeze'] }]);
        expect(ledger.frozen.reason).toBe(REASON);
        // The worker decoded the update: its notifier got the reason.
        expect(logged.join('\n')).toContain(REASON);

        const history = await plain.workflow.getHandle(id).fetchHistory();
        const raw = await rawHistory(plain, id);
        expect(raw.includes(MARKER)).toBe(false);
        expect(raw.includes(REASON)).toBe(false);
        expect(raw.includes(ENCRYPTED_ENCODING)).toBe(true);
        const err = await rejection(plain.workflow.getHandle(id).query(ledgerQuery));
        expect(err.message).toMatch(/binary\/encrypted/);

        // The scan would see the marker were it stored in clear: the same start without the codec.
        await plain.workflow.start('environmentLedger', { workflowId: `${id}-clear`, taskQueue: 'nobody-polls', args: [{ service: MARKER, environment: 'production' }] });
        expect((await rawHistory(plain, `${id}-clear`)).includes(MARKER)).toBe(true);

        // The same history through the key holder's codec: the start input is readable again.
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
        const decoded = await target.codec!.decode(started as Payload[]);
        expect(JSON.stringify(fromPayload(decoded[0]))).toContain(MARKER);
      });
    } finally {
      for (const wf of [id, `${id}-clear`]) await plain.workflow.getHandle(wf).terminate('test finished').catch(() => undefined);
      await client.connection.close();
    }
  });
});

describe('the codec server', () => {
  const TOKEN = 'codec-token-Wombat-7f3a9c';
  const UI = 'http://localhost:8233';
  const codec = codecFromEnvironment({ TRAINYARD_CODEC_KEYS: `k2026:${KEY_2026}` })!;
  let server: RunningCodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, uiOrigins: [UI], token: TOKEN, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const json = (payloads: Payload[]) => ({
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
      data: Buffer.from(p.data!).toString('base64'),
    })),
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: JSON.stringify(body) });

  it("answers the UI's preflight with CORS headers for its origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-namespace' },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/)).toEqual(expect.arrayContaining(['x-namespace', 'authorization', 'content-type']));
    const other = await preflight('http://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('decodes what the worker encrypted, with CORS headers, and encodes for the UI', async () => {
    const sealed = await codec.encode([toPayload({ reason: 'decoded for the UI' })]);
    const res = await post('/decode', json(sealed), { Authorization: `Bearer ${TOKEN}`, Origin: UI });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString())).toEqual({ reason: 'decoded for the UI' });

    const encoded = (await (await post('/encode', body, { Authorization: `Bearer ${TOKEN}` })).json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
  });

  it('rejects a missing or wrong bearer token without echoing it, and bad bodies with a reason', async () => {
    const sealed = json(await codec.encode([toPayload('secret')]));
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: TOKEN }];
    for (const headers of attempts) {
      const res = await post('/decode', sealed, { ...headers, Origin: UI });
      expect(res.status).toBe(401);
      const body = await res.text();
      expect(body).toMatch(/missing or wrong bearer token/);
      expect(body).not.toContain(TOKEN);
      expect(body).not.toContain('secret');
    }
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect(await (await post('/decode', { payload: [] }, auth)).json()).toEqual({ error: 'expected a JSON body {"payloads": [...]}' });
    expect((await post('/decode', { payloads: [{ data: 'not base64!' }] }, auth)).status).toBe(400);
    const tampered = structuredClone(sealed);
    tampered.payloads[0]!.data = Buffer.from('x'.repeat(40)).toString('base64');
    const res = await post('/decode', tampered, auth);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/failed AES-GCM authentication/);
    expect((await fetch(`${server.url}/decode`, { headers: auth })).status).toBe(405);
    expect((await post('/other', sealed, auth)).status).toBe(404);
  });
});
