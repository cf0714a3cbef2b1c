/**
 * Where `npm start` puts the embedded default: the data folder and the ports of the Temporal server,
 * its Web UI and the demo's environments. Each is settable by an environment variable so a second
 * copy (or a test) can run beside the first:
 *
 *   TRAINYARD_DATA_DIR              data folder (default .trainyard/ in the project)
 *   TRAINYARD_TEMPORAL_PORT         Temporal frontend (default 7233)
 *   TRAINYARD_UI_PORT               Temporal Web UI (default 8233)
 *   TRAINYARD_UI_CODEC_ENDPOINT     codec server the UI decodes payloads with (default none)
 *   TRAINYARD_DEMO_STAGING_PORT     the demo's staging process (default: demo/trainyard.yaml's, 18081)
 *   TRAINYARD_DEMO_PRODUCTION_PORT  the demo's production process (default: demo/trainyard.yaml's, 18082)
 *
 * The demo's ports have one source of truth, demo/trainyard.yaml: an override replaces the
 * environment's port (its deploy command's `--port`) wherever the demo's service config names it.
 */
import { isAbsolute, join, resolve } from 'node:path';

export interface StartSettings {
  dataDir: string;
  temporalPort: number;
  uiPort: number;
  uiCodecEndpoint?: string;
  /** Ports of the demo's environments that differ from demo/trainyard.yaml's. */
  demoPorts: Record<string, number>;
}

function port(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name}=${value} is not a port; set it to a number from 1 to 65535 or unset it`);
  return n;
}

export function startSettings(projectRoot: string, env: NodeJS.ProcessEnv = process.env): StartSettings {
  const dir = env.TRAINYARD_DATA_DIR;
  const demoPorts: Record<string, number> = {};
  const staging = port(env, 'TRAINYARD_DEMO_STAGING_PORT');
  const production = port(env, 'TRAINYARD_DEMO_PRODUCTION_PORT');
  if (staging) demoPorts.staging = staging;
  if (production) demoPorts.production = production;
  return {
    dataDir: dir ? (isAbsolute(dir) ? dir : resolve(dir)) : join(projectRoot, '.trainyard'),
    temporalPort: port(env, 'TRAINYARD_TEMPORAL_PORT') ?? 7233,
    uiPort: port(env, 'TRAINYARD_UI_PORT') ?? 8233,
    ...(env.TRAINYARD_UI_CODEC_ENDPOINT ? { uiCodecEndpoint: env.TRAINYARD_UI_CODEC_ENDPOINT } : {}),
    demoPorts,
  };
}

type Yaml = Record<string, unknown>;

/** The `--port` of an environment's deploy command in the YAML. */
function deployPort(environment: Yaml): string | undefined {
  const command = (environment.deploy as Yaml | undefined)?.command;
  if (!Array.isArray(command)) return undefined;
  const i = command.indexOf('--port');
  return i >= 0 ? String(command[i + 1]) : undefined;
}

/** Replaces a port where a string is that port or names it after `127.0.0.1:`. */
function movePort(service: Yaml, from: string, to: number): Yaml {
  const json = JSON.stringify(service).replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`).replaceAll(`"${from}"`, `"${to}"`);
  return JSON.parse(json) as Yaml;
}

/**
 * demo/trainyard.yaml (parsed) for these settings: the forge and deploys in the data folder, the
 * environments on their ports, the UI links on the UI port.
 */
export function adjustDemoConfig(raw: unknown, settings: StartSettings): unknown {
  const config = structuredClone(raw) as Yaml;
  const services = config.services as Yaml;
  let demo = services.demo as Yaml;
  const demoDir = join(settings.dataDir, 'demo');
  for (const [name, wanted] of Object.entries(settings.demoPorts)) {
    const environment = (demo.environments as Yaml)[name] as Yaml | undefined;
    const from = environment && deployPort(environment);
    if (!from) throw new Error(`the demo has no environment "${name}" with a deploy --port in demo/trainyard.yaml`);
    demo = movePort(demo, from, wanted);
  }
  (demo.forge as Yaml).path = join(demoDir, 'repo');
  for (const environment of Object.values(demo.environments as Yaml) as Yaml[]) {
    const deploy = environment.deploy as Yaml;
    deploy.env = { ...(deploy.env as Yaml | undefined), DEMO_DIR: demoDir };
  }
  services.demo = demo;
  config.temporal = { ...(config.temporal as Yaml), uiUrl: `http://localhost:${settings.uiPort}` };
  return config;
}

/** Each demo environment's port (its deploy command's `--port`), from the config the worker runs. */
export function demoPortsOf(environments: Record<string, { deploy: unknown }>): Record<string, string> {
  const ports: Record<string, string> = {};
  for (const [name, environment] of Object.entries(environments)) {
    const port = deployPort(environment as unknown as Yaml);
    if (port) ports[name] = port;
  }
  return ports;
}

/** Each demo environment's version URL (for the banner), from the config the worker runs. */
export function demoVersionUrls(environments: Record<string, { versionUrl?: string | undefined }>): string {
  return Object.entries(environments)
    .map(([name, env]) => `${name[0]?.toUpperCase()}${name.slice(1)}: ${env.versionUrl ?? '(no version URL)'}`)
    .join('   ');
}
