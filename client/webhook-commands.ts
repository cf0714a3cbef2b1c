/**
 * `trainyard webhooks [--port] [--host]`: runs the webhook receiver (client/webhooks.ts) until
 * interrupted; `trainyard preview <service> <pr>`: a preview's status. Secrets come from the
 * environment variables the config names (`webhooks.githubSecretEnv`, `webhooks.gitlabTokenEnv`).
 */
import type { Command } from 'commander';
import { declare } from './commands.js';
import { TrainyardError } from '../domain/errors.js';
import { previewWorkflowId } from '../domain/preview.js';
import { previewsConfigSchema, webhooksConfigSchema, type WebhooksConfig } from '../domain/preview-config.js';
import type { TrainyardConfig } from '../domain/config.js';
import { previewStatusQuery } from '../workflows/preview-messages.js';
import { withClient } from './cli-context.js';
import { configPath, loadConfigFile } from './config-file.js';
import { startWebhookReceiver, type WebhookReceiverOptions } from './webhooks.js';
import { cliEnv, say } from './terminal.js';

type ReceiverSettings = Omit<WebhookReceiverOptions, 'client' | 'start'> & { taskQueue: string };

/**
 * What the receiver needs from the config and the environment: the routing of repositories to
 * services, the previews' timing and the secrets. Errors name the variable, never a value.
 */
export function receiverSettings(config: TrainyardConfig, environment: Record<string, string | undefined>, flags: { port?: number; host?: string } = {}): ReceiverSettings {
  const raw = config as unknown as { webhooks?: unknown; previews?: unknown };
  const hooks: WebhooksConfig = webhooksConfigSchema.parse(raw.webhooks ?? {});
  const previews = previewsConfigSchema.parse(raw.previews ?? {});
  const services: Record<string, string> = {};
  const stages: Record<string, { service: string; branch: string }> = {};
  for (const [service, s] of Object.entries(config.services)) {
    const forge = s.forge as { kind: string; repository?: string; project?: string | number; defaultBranch: string };
    const repo = forge.kind === 'github' ? forge.repository : forge.kind === 'gitlab' ? forge.project : undefined;
    if (typeof repo !== 'string') continue;
    if (previews[service]) services[repo] = service;
    if (s.stageOnMerge) stages[repo] = { service, branch: s.stageOnMerge.branch ?? forge.defaultBranch };
  }
  const secret = (name: string | undefined, what: string) => {
    if (!name) return undefined;
    const value = environment[name]?.trim();
    if (!value) throw new TrainyardError('CONFIG_INVALID', `the ${what} is missing: environment variable ${name} is not set or empty`, `Set ${name} in this process's environment, or remove webhooks.${what === 'GitHub webhook secret' ? 'githubSecretEnv' : 'gitlabTokenEnv'} from the config.`);
    return value;
  };
  const githubSecret = secret(hooks.githubSecretEnv, 'GitHub webhook secret');
  const gitlabToken = secret(hooks.gitlabTokenEnv, 'GitLab webhook token');
  if (!githubSecret && !gitlabToken) {
    throw new TrainyardError('CONFIG_INVALID', 'no webhook secret is configured, so every delivery would be rejected', 'Set webhooks.githubSecretEnv and/or webhooks.gitlabTokenEnv in the config to the variables holding them.');
  }
  return {
    taskQueue: config.temporal.taskQueue,
    port: flags.port ?? hooks.port,
    host: flags.host ?? hooks.host,
    ...(githubSecret ? { github: { secret: githubSecret } } : {}),
    ...(gitlabToken ? { gitlab: { token: gitlabToken } } : {}),
    services,
    stages,
    previews: Object.fromEntries(Object.entries(previews).map(([k, p]) => [k, { quietSeconds: p.quietSeconds, ttlHours: p.ttlHours }])),
    maxBodyBytes: hooks.maxBodyKiB * 1024,
  };
}

export function register(program: Command): void {
  declare(program, 'webhooks')
    .option('--port <port>', 'port to listen on (default: webhooks.port of the config)', (v) => Number(v))
    .option('--host <host>', 'address to listen on (default: webhooks.host of the config)')
    .action(async (opts: { port?: number; host?: string }) => {
      const { config } = loadConfigFile(configPath(program.opts().config, cliEnv()));
      const settings = receiverSettings(config, cliEnv(), opts);
      await withClient(async (client) => {
        const receiver = await startWebhookReceiver({ ...settings, client, log: (line) => say(line) });
        const routed = [...new Set([...Object.keys(settings.services), ...Object.keys(settings.stages ?? {})])];
        say(`listening on ${receiver.url}/webhooks/{github,gitlab} for ${routed.join(', ') || 'no repository (configure previews or stageOnMerge)'}`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await receiver.close();
      });
    });
  declare(program, 'preview')
    .action(async (service: string, pr: string) => {
      await withClient(async (client) => {
        const status = await client.workflow.getHandle(previewWorkflowId(service, Number(pr))).query(previewStatusQuery);
        say(JSON.stringify(status, null, 2));
      });
    });
}
