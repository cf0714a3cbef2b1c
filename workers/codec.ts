/**
 * Optional payload encryption: every payload the worker and the clients send to Temporal is sealed
 * with AES-256-GCM, so the server, its database and the Web UI hold only ciphertext. Operators with
 * the key read payloads through the codec server (client/codec-server.ts).
 *
 * Keys come from the environment: `TRAINYARD_CODEC_KEYS=id:base64key[,id:base64key…]` (32-byte keys;
 * the first one encrypts) or `TRAINYARD_CODEC_KEY_FILE` naming a file with the same entries (commas
 * or new lines; `#` starts a comment). Each payload records the id of its key, so a rotation is: put
 * the new key first and keep the old ones for as long as histories written with them are read.
 *
 * Runs in the worker's and the clients' Node process, never in the workflow sandbox.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS whose exports Node's ESM loader cannot name: take the default export.
import proto from '@temporalio/proto';
import { TrainyardError } from '../domain/errors.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8 = new TextEncoder();
const text = new TextDecoder();

export interface CodecKey {
  id: string;
  key: Buffer;
}

const KEYS_HINT = 'Give each key as id:base64key, e.g. `k2026:$(openssl rand -base64 32)`, the encrypting key first.';

/**
 * Parses `id:base64key` entries. Messages name an entry by its position and (when it is well formed)
 * its id, never by its text: a mistyped entry may well be a key.
 */
export function parseCodecKeys(spec: string, source: string): CodecKey[] {
  const entries = spec
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
  if (entries.length === 0) throw new TrainyardError('CONFIG_INVALID', `${source} holds no key`, KEYS_HINT);
  const keys: CodecKey[] = [];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    const where = `entry ${index + 1} of ${source}`;
    if (!KEY_ID.test(id)) {
      throw new TrainyardError('CONFIG_INVALID', `${where} has no valid key id before ":" (letters, digits, ".", "_", "-"; at most 64)`, KEYS_HINT);
    }
    const encoded = entry.slice(colon + 1).trim();
    if (!BASE64.test(encoded)) throw new TrainyardError('CONFIG_INVALID', `key "${id}" (${where}) is not base64`, KEYS_HINT);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new TrainyardError('CONFIG_INVALID', `key "${id}" (${where}) is ${key.length} bytes long; AES-256 needs ${KEY_BYTES}`, KEYS_HINT);
    }
    if (keys.some((k) => k.id === id)) {
      throw new TrainyardError('CONFIG_INVALID', `key id "${id}" appears twice in ${source}`, 'Every key needs its own id: payloads name the key they were sealed with.');
    }
    keys.push({ id, key });
  });
  return keys;
}

function encodingOf(payload: Payload): string | undefined {
  const raw = payload.metadata?.encoding;
  return raw ? text.decode(raw) : undefined;
}

export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  private readonly current: CodecKey;

  /** `keys[0]` encrypts; all of them decrypt. */
  constructor(keys: readonly CodecKey[]) {
    const [first] = keys;
    if (!first) throw new TrainyardError('CONFIG_INVALID', 'the payload codec was given no key', KEYS_HINT);
    this.current = first;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id new payloads are encrypted with. */
  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload, index) => (encodingOf(payload) === ENCRYPTED_ENCODING ? this.open(payload, index) : payload));
  }

  private seal(payload: Payload): Payload {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    // The key id is authenticated too, so a payload cannot be relabelled with another id.
    cipher.setAAD(utf8.encode(id));
    const sealed = Buffer.concat([iv, cipher.update(ProtoPayload.encode(payload).finish()), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(id) }, data: sealed };
  }

  private open(payload: Payload, index: number): Payload {
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    const id = rawId ? text.decode(rawId) : '';
    const key = this.keys.get(id);
    if (!key) {
      const named = KEY_ID.test(id) ? `key "${id}"` : 'a key with no readable id';
      throw new TrainyardError(
        'CONFIG_INVALID',
        `payload ${index + 1} was encrypted with ${named}, which is not among the codec's keys (${[...this.keys.keys()].join(', ')})`,
        'Add that key to TRAINYARD_CODEC_KEYS (after the current one): keys retired from encrypting must stay for decrypting.',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    try {
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8.encode(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return ProtoPayload.decode(plain);
    } catch {
      // Node's own message ("Unsupported state or unable to authenticate data") says neither which nor why.
      throw new TrainyardError(
        'CONFIG_INVALID',
        `payload ${index + 1} (key "${id}") failed AES-GCM authentication: it was altered, or key "${id}" is not the key it was encrypted with`,
        'Never reuse a key id for another key: give a new key a new id and keep the old one. If the key is right, the stored payload was tampered with.',
      );
    }
  }
}

/** Where the keys come from: the variable itself, or the file it names. */
function keySpec(env: NodeJS.ProcessEnv): { spec: string; source: string } | undefined {
  const inline = env.TRAINYARD_CODEC_KEYS?.trim();
  const file = env.TRAINYARD_CODEC_KEY_FILE?.trim();
  if (inline && file) {
    throw new TrainyardError('CONFIG_INVALID', 'both TRAINYARD_CODEC_KEYS and TRAINYARD_CODEC_KEY_FILE are set', 'Set only one of them, so it is clear which key encrypts.');
  }
  if (inline) return { spec: inline, source: 'TRAINYARD_CODEC_KEYS' };
  if (!file) return undefined;
  try {
    return { spec: readFileSync(file, 'utf8'), source: `the key file ${file}` };
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TrainyardError('CONFIG_INVALID', `TRAINYARD_CODEC_KEY_FILE ${file} cannot be read (${why})`, 'Point it at a readable file of id:base64key lines.');
  }
}

/** The codec the environment configures, or undefined when payload encryption is off. */
export function codecFromEnvironment(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  const found = keySpec(env);
  return found ? new AesGcmCodec(parseCodecKeys(found.spec, found.source)) : undefined;
}

/** Spread into Client / Worker options: the codec's data converter, or nothing. */
export function codecDataConverter(codec: PayloadCodec | undefined): { dataConverter?: DataConverter } {
  return codec ? { dataConverter: { payloadCodecs: [codec] } } : {};
}
