#!/usr/bin/env node
// Installs the Temporal toolchain Trainyard needs, once, into a cache outside
// the git tree, and reuses it afterwards (`npm run setup`, run by `npm test`):
//   - Temporal CLI (dev server + Web UI), built with `go install`
//   - Temporal time-skipping test server (Java), fetched with Maven
//   - headless Chromium for the UI browser test: found on PATH, else apt-get (as root)
// It then writes <cache>/toolchain.json, which the TypeScript code reads:
//   { "temporalCli": "/abs/temporal" | null, "testServer": "/abs/wrapper" | null, "chromium": "/usr/bin/chromium" | null,
//     "versions": { "temporalCli", "testServer", "temporalServer", "temporalUi", "chromium" } }
// A path (and its versions) is null when setup skipped that tool because
// TRAINYARD_TEMPORAL_CLI / TRAINYARD_TEST_SERVER / TRAINYARD_CHROMIUM points at an existing file and
// nothing is cached (the TS code checks those variables before the manifest).
//
// Cache: $TRAINYARD_CACHE, else $XDG_CACHE_HOME/trainyard, else ~/.cache/trainyard.
// Exit code 1 with the failed step, the tool's output tail and a retry hint on failure.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM_LABEL, findChromium, installChromium } from './lib/chromium.mjs';
import { acquireLock } from './lib/lock.mjs';
import { TEMPORAL_CLI_VERSION, cliPath, installCli, probeCli } from './lib/temporal-cli.mjs';
import { TEST_SERVER_VERSION, installTestServer, probeTestServer } from './lib/test-server.mjs';
import { RETRY, SetupError, cacheDir, killAllChildren, lastLines, say, writeFileAtomic } from './lib/util.mjs';

// Each tool: probe(cache) → { path, versions } when a working install is cached.
const TOOLS = [
  {
    key: 'temporalCli',
    label: `Temporal CLI v${TEMPORAL_CLI_VERSION}`,
    envVar: 'TRAINYARD_TEMPORAL_CLI',
    probe(cache) {
      const info = probeCli(cliPath(cache));
      return info && { path: cliPath(cache), versions: { temporalServer: info.server, temporalUi: info.ui } };
    },
    install: installCli,
  },
  {
    key: 'testServer',
    label: `Temporal test server ${TEST_SERVER_VERSION}`,
    envVar: 'TRAINYARD_TEST_SERVER',
    probe(cache) {
      const wrapper = probeTestServer(cache);
      return wrapper && { path: wrapper, versions: {} };
    },
    install: installTestServer,
  },
  {
    key: 'chromium',
    label: CHROMIUM_LABEL,
    envVar: 'TRAINYARD_CHROMIUM',
    // The system's package (not our cache): apt-get keeps it installed.
    probe: () => findChromium(),
    cachedNote: (found) => `found ${found.path}, ${found.versions.chromium}`,
    install: installChromium,
  },
];

let releaseLock;

/** A usable override from the environment, or undefined (with a warning if it is set but wrong). */
function overrideOf(tool) {
  const value = process.env[tool.envVar];
  if (!value) return undefined;
  if (existsSync(value)) return path.resolve(value);
  say(`! $${tool.envVar}=${value} does not exist; ignoring it and installing ${tool.label}`);
  return undefined;
}

async function installPending(cache, pending, found) {
  releaseLock = await acquireLock(path.join(cache, '.setup.lock'));
  try {
    for (const tool of pending) {
      // Re-probe: a concurrent run may have installed it while we waited for the lock.
      if (tool.probe(cache)) say(`✓ ${tool.label} (installed by another setup run)`);
      else await tool.install(cache);
      found[tool.key] = tool.probe(cache);
      if (!found[tool.key]) throw new SetupError(`install ${tool.label}`, 'the fresh install does not pass its own check', { hint: RETRY });
    }
  } finally {
    releaseLock();
    releaseLock = undefined;
  }
}

function writeManifest(cache, found) {
  const manifest = {
    temporalCli: found.temporalCli?.path ?? null,
    testServer: found.testServer?.path ?? null,
    chromium: found.chromium?.path ?? null,
    versions: {
      temporalCli: found.temporalCli ? TEMPORAL_CLI_VERSION : null,
      testServer: found.testServer ? TEST_SERVER_VERSION : null,
      temporalServer: found.temporalCli?.versions.temporalServer ?? null,
      temporalUi: found.temporalCli?.versions.temporalUi ?? null,
      chromium: found.chromium?.versions.chromium ?? null,
    },
  };
  const file = path.join(cache, 'toolchain.json');
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  let current;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    /* first run */
  }
  if (current !== text) writeFileAtomic(file, text);
}

async function main() {
  const cache = cacheDir();
  mkdirSync(cache, { recursive: true });
  const found = {};
  const pending = [];
  for (const tool of TOOLS) {
    const override = overrideOf(tool);
    if (override) say(`✓ ${tool.label}: using $${tool.envVar}=${override}`);
    const cached = tool.probe(cache);
    if (cached) found[tool.key] = cached;
    if (cached && !override) say(`✓ ${tool.label} (${tool.cachedNote?.(cached) ?? 'cached'})`);
    if (!cached && !override) pending.push(tool);
  }
  if (pending.length > 0) await installPending(cache, pending, found);
  writeManifest(cache, found);
}

function report(err) {
  if (!(err instanceof SetupError)) {
    say(`✗ Setup failed unexpectedly: ${err?.message ?? err}`);
    if (process.env.TRAINYARD_DEBUG) console.error(err);
    say(`  Retry: ${RETRY} (set TRAINYARD_DEBUG=1 to see the stack trace).`);
    return;
  }
  say(`✗ Setup failed at step "${err.step}": ${err.message}`);
  if (err.tail) {
    say(`  ── last lines of output${err.log ? ` (full log: ${err.log})` : ''} ──`);
    say(lastLines(err.tail).replace(/^/gm, '  | '));
  }
  if (err.hint) say(`  Retry: ${err.hint}.`);
}

function onSignal(signal) {
  killAllChildren();
  releaseLock?.();
  say(`✗ Setup interrupted (${signal}); ${RETRY} to resume.`);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main().catch((err) => {
  report(err);
  releaseLock?.();
  process.exitCode = 1;
});
