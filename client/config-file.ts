/** Reads and validates a config file; every problem is reported with its path. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { parseConfig, type TrainyardConfig } from '../domain/config.js';
import { TrainyardError } from '../domain/errors.js';

export interface LoadedConfig {
  config: TrainyardConfig;
  /** Relative paths in the config are relative to this folder. */
  baseDir: string;
  path: string;
}

export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.TRAINYARD_CONFIG ?? 'trainyard.yaml');
}

/** `adjust` rewrites the parsed YAML before validation (the demo moves its ports and data folder). */
export function loadConfigFile(path: string, adjust: (raw: unknown) => unknown = (raw) => raw): LoadedConfig {
  if (!existsSync(path)) {
    throw new TrainyardError('CONFIG_INVALID', `config file ${path} does not exist`, 'Pass --config <file> or set TRAINYARD_CONFIG (see demo/trainyard.yaml for an example).');
  }
  let raw: unknown;
  // YAML warnings (an unknown tag such as `!secret`, which would otherwise be read as plain text and
  // printed as a Node warning) are problems of the file like its errors.
  const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: true, uniqueKeys: true, logLevel: 'silent' });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    throw new TrainyardError('CONFIG_INVALID', `${path} is not valid YAML: ${problems.map((p) => p.message).join('; ')}`, 'Fix the syntax and run `trainyard config check` again.');
  }
  try {
    raw = doc.toJS();
  } catch (err) {
    throw new TrainyardError('CONFIG_INVALID', `${path} is not valid YAML: ${(err as Error).message}`, 'Fix the syntax and run `trainyard config check` again.');
  }
  const result = parseConfig(adjust(raw));
  if (!result.ok) {
    const lines = result.problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
    throw new TrainyardError('CONFIG_INVALID', `${path} has ${result.problems.length} problem(s):\n${lines}\n`, 'Fix them and run `trainyard config check` again.');
  }
  return { config: result.config, baseDir: dirname(path), path };
}
