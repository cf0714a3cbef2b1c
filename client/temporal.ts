/**
 * Connections to Temporal. Settings come from the standard Temporal environment variables and
 * profile file (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE),
 * read by @temporalio/envconfig, so Trainyard connects exactly as the `temporal` CLI does.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { codecDataConverter, codecFromEnvironment } from '../workers/codec.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Connection options as envconfig produced them (TLS, API key, headers). */
  options: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
  /** Payload encryption (TRAINYARD_CODEC_KEYS / TRAINYARD_CODEC_KEY_FILE); absent when off. */
  codec?: PayloadCodec;
}

function withCodec(target: TemporalTarget, env: NodeJS.ProcessEnv): TemporalTarget {
  const codec = codecFromEnvironment(env);
  return codec ? { ...target, codec } : target;
}

/** The cluster named by the environment, or undefined when none is (use the embedded server). */
export function configuredTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget | undefined {
  if (!env.TEMPORAL_ADDRESS && !env.TEMPORAL_PROFILE) return undefined;
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  return withCodec({ address: connectionOptions.address ?? 'localhost:7233', namespace: namespace ?? 'default', options: connectionOptions }, env);
}

export function localTarget(address: string, namespace = 'default', env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  return withCodec({ address, namespace, options: { address } }, env);
}

/** The target for operator commands: the environment's, else the embedded dev server's default port. */
export function operatorTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  return configuredTarget(env) ?? localTarget(env.TRAINYARD_TEMPORAL_ADDRESS ?? '127.0.0.1:7233', 'default', env);
}

/**
 * `identity` is recorded by Temporal with every update and signal the client sends (the history's
 * `identity` fields), beside the operator name the request itself carries.
 */
export async function connectClient(target: TemporalTarget, identity?: string): Promise<Client> {
  const connection = await Connection.connect({ ...target.options, address: target.address, connectTimeout: '5s' });
  return new Client({ connection, namespace: target.namespace, ...codecDataConverter(target.codec), ...(identity ? { identity } : {}) });
}

/** A worker's connection; the worker package (native bridge, bundler) loads only here, never for an operator command. */
export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect({ ...target.options, address: target.address });
}
