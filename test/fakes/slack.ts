/**
 * A fake Slack Web API on loopback: the methods Trainyard calls, with Slack's habits. Every answer
 * is HTTP 200 with `ok: true|false` (errors are codes like `invalid_auth`), bodies arrive
 * form-encoded (the WebClient's default) or as JSON, a bot must be a member of a channel to post
 * there, `conversations.list` pages with `response_metadata.next_cursor`, and `setTopic` wants a
 * channel id. HTTP faults (500, 429 with Retry-After) come from the shared fault injection.
 */
import { startHttpFake, type FakeRequest, type FakeResponse, type HttpFake } from './http-fake.js';

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isArchived: boolean;
  /** Whether the bot is a member (it may post and set the topic). */
  member: boolean;
  topic: string;
  messages: { text?: string; blocks?: unknown[]; ts: string }[];
}

export interface FakeSlack extends HttpFake {
  /** The Web API root to configure as `apiUrl`. */
  apiUrl: string;
  channels: FakeChannel[];
  /** A channel by id, name or #name. */
  channel(ref: string): FakeChannel | undefined;
  addChannel(name: string, options?: Partial<Pick<FakeChannel, 'isPrivate' | 'isArchived' | 'member'>>): FakeChannel;
}

/** Slack's documented cap on a topic. */
const TOPIC_MAX = 250;

export async function startFakeSlack(options: { token: string; pageSize?: number }): Promise<FakeSlack> {
  const channels: FakeChannel[] = [];
  let clock = 1_700_000_000;
  const find = (ref: string) => channels.find((c) => c.id === ref || c.name === ref.replace(/^#/, ''));
  const fail = (error: string, extra: object = {}): FakeResponse => ({ status: 200, body: { ok: false, error, ...extra } });
  const ok = (body: object): FakeResponse => ({ status: 200, body: { ok: true, ...body } });

  const methods: Record<string, (args: Record<string, unknown>) => FakeResponse> = {
    'auth.test': () => ok({ url: 'https://fake.slack.com/', team: 'Fake', user: 'trainyard', team_id: 'T0000001', user_id: 'U0000001', bot_id: 'B0000001' }),

    'chat.postMessage': (args) => {
      const channel = find(String(args.channel ?? ''));
      if (!channel) return fail('channel_not_found');
      if (channel.isArchived) return fail('is_archived');
      if (!channel.member) return fail('not_in_channel');
      const blocks = typeof args.blocks === 'string' ? (JSON.parse(args.blocks) as unknown[]) : (args.blocks as unknown[] | undefined);
      if (!args.text && !blocks?.length) return fail('no_text');
      const ts = `${clock++}.000100`;
      channel.messages.push({ ...(typeof args.text === 'string' ? { text: args.text } : {}), ...(blocks ? { blocks } : {}), ts });
      return ok({ channel: channel.id, ts, message: { text: args.text, ts } });
    },

    'conversations.list': (args) => {
      const types = String(args.types ?? 'public_channel').split(',');
      const limit = Math.min(Number(args.limit ?? 100) || 100, options.pageSize ?? 1000);
      const visible = channels.filter((c) => types.includes(c.isPrivate ? 'private_channel' : 'public_channel') && !(c.isArchived && String(args.exclude_archived) === 'true'));
      const offset = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64').toString().replace('offset:', '')) : 0;
      if (!Number.isInteger(offset)) return fail('invalid_cursor');
      const page = visible.slice(offset, offset + limit);
      const next = offset + limit < visible.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '';
      return ok({ channels: page.map((c) => ({ id: c.id, name: c.name, is_private: c.isPrivate, is_archived: c.isArchived, is_member: c.member })), response_metadata: { next_cursor: next } });
    },

    'conversations.setTopic': (args) => {
      // Slack wants the id here; a name is "not found".
      const channel = channels.find((c) => c.id === args.channel);
      if (!channel) return fail('channel_not_found');
      if (!channel.member) return fail('not_in_channel');
      const topic = String(args.topic ?? '');
      if ([...topic].length > TOPIC_MAX) return fail('too_long');
      channel.topic = topic;
      return ok({ channel: { id: channel.id, name: channel.name, topic: { value: topic } } });
    },
  };

  const handler = (req: FakeRequest): FakeResponse => {
    const method = req.path.replace(/^\/api\//, '');
    const args = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    if (!token) return fail('not_authed');
    if (token !== options.token) return fail('invalid_auth');
    const run = methods[method];
    return run ? run(args) : fail('unknown_method');
  };

  const fake = await startHttpFake(handler);
  return Object.assign(fake, {
    apiUrl: `${fake.url}/api/`,
    channels,
    channel: find,
    addChannel(name: string, o: Partial<Pick<FakeChannel, 'isPrivate' | 'isArchived' | 'member'>> = {}) {
      const channel: FakeChannel = { id: `C${String(channels.length + 1).padStart(8, '0')}`, name, isPrivate: false, isArchived: false, member: true, topic: '', messages: [], ...o };
      channels.push(channel);
      return channel;
    },
  });
}
