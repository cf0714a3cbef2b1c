// Temporal CLI (dev server + Web UI), built from source through the Go module
// proxy: its release archives live on a host this project's machines cannot reach.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RETRY, SetupError, lastLines, runLogged, runQuick, say, seconds, which } from './util.mjs';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
const BUILD_TIMEOUT_MS = 20 * 60_000;
const STEP = `build Temporal CLI v${TEMPORAL_CLI_VERSION}`;

export const cliPath = (cache) => path.join(cache, `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');

/**
 * `temporal --version` → { server, ui } if the binary works, else undefined.
 * (A plain `go install` stamps no CLI version: it prints "0.0.0-DEV".)
 */
export function probeCli(bin) {
  if (!existsSync(bin)) return undefined;
  const { ok, out } = runQuick(bin, ['--version']);
  if (!ok || !out.startsWith('temporal version')) return undefined;
  const m = /Server ([\w.-]+), UI ([\w.-]+)/.exec(out);
  return { server: m?.[1] ?? null, ui: m?.[2] ?? null };
}

// The CLI's go.mod needs Go 1.25; Go 1.21+ fetches that toolchain by itself
// (through the module proxy). Debian 12's `golang-go` is 1.19: too old.
function requireGo() {
  const go = which('go');
  const hint = `Install Go 1.21 or newer (https://go.dev/dl/; Debian 12's golang-go 1.19 is too old) and put it on PATH; then ${RETRY}`;
  if (!go) throw new SetupError(STEP, '`go` is not on PATH', { hint });
  const { ok, out } = runQuick(go, ['version']);
  if (!ok) throw new SetupError(STEP, '`go version` failed', { tail: out, hint });
  const [, major, minor] = /go(\d+)\.(\d+)/.exec(out) ?? [];
  if (Number(major) === 1 && Number(minor) < 21) throw new SetupError(STEP, `found ${out}, need Go 1.21+`, { hint });
  return go;
}

/** Build into a temp dir beside the target, check it runs, then rename into place. */
export async function installCli(cache) {
  const go = requireGo();
  const target = cliPath(cache);
  // Fixed name: we hold the cache lock, so anything already there is an interrupted run's.
  const tmpBin = `${path.dirname(target)}.tmp`;
  rmSync(tmpBin, { recursive: true, force: true });
  mkdirSync(tmpBin, { recursive: true });
  say(`Building Temporal CLI v${TEMPORAL_CLI_VERSION} from the Go module proxy (first run only, takes minutes)…`);
  const t0 = Date.now();
  try {
    await runLogged(STEP, go, ['install', MODULE], {
      env: { ...process.env, CGO_ENABLED: '0', GOBIN: tmpBin },
      cwd: cache, // outside any Go module, so the repo's files cannot influence the build
      timeoutMs: BUILD_TIMEOUT_MS,
      logFile: path.join(cache, 'logs', 'temporal-cli-build.log'),
      hint: `Check that the Go module proxy is reachable (go env GOPROXY) and that the disk has ~4 GB free; then ${RETRY}`,
    });
    const built = path.join(tmpBin, 'temporal');
    if (!probeCli(built)) {
      throw new SetupError(STEP, 'the built binary does not run `temporal --version`', {
        tail: lastLines(runQuick(built, ['--version']).out),
        hint: RETRY,
      });
    }
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(built, target);
  } finally {
    rmSync(tmpBin, { recursive: true, force: true });
  }
  say(`✓ Temporal CLI v${TEMPORAL_CLI_VERSION} built in ${seconds(Date.now() - t0)}: ${target}`);
  return target;
}
