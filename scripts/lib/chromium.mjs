// Headless Chromium for the browser test of the Temporal UI (test/e2e/ui-browser.test.ts), driven by
// playwright-core. Playwright cannot download its own browsers here, so we use the system's: Debian's
// `chromium` package, found on PATH or installed with apt-get when setup runs as root. The package
// manager caches it; setup only records its path in the manifest.
import { SetupError, RETRY, runLogged, runQuick, say, seconds, which } from './util.mjs';
import path from 'node:path';

export const CHROMIUM_LABEL = 'Chromium (headless, for the UI browser test)';
const STEP = 'install Chromium';
const NAMES = ['chromium', 'chromium-browser'];
const APT_TIMEOUT_MS = 15 * 60_000;

/** `<bin> --version` → the version if the binary runs, else undefined. */
export function probeChromium(bin) {
  if (!bin) return undefined;
  const { ok, out } = runQuick(bin, ['--version'], 30_000);
  // Debian's wrapper script may print a shell warning before the version line.
  const m = /Chromium ([\d.]+)/.exec(out) ?? /Chrome ([\d.]+)/.exec(out);
  return ok && m ? m[1] : undefined;
}

/** The first working Chromium on PATH: { path, versions: { chromium } } or undefined. */
export function findChromium() {
  for (const name of NAMES) {
    const bin = which(name);
    const version = probeChromium(bin);
    if (version) return { path: bin, versions: { chromium: version } };
  }
  return undefined;
}

const manualHint =
  'install Chromium yourself — `sudo apt-get install -y chromium` on Debian/Ubuntu, your package manager elsewhere — ' +
  `or set TRAINYARD_CHROMIUM to a Chromium or Chrome binary; then ${RETRY}`;

/** Installs Debian's `chromium` with apt-get (as root), updating the package lists if it is not known yet. */
export async function installChromium(cache) {
  const apt = which('apt-get');
  if (!apt) throw new SetupError(STEP, 'Chromium is not on PATH and this system has no apt-get', { hint: manualHint });
  if (process.getuid?.() !== 0) throw new SetupError(STEP, 'Chromium is not on PATH and setup is not running as root, so it cannot apt-get it', { hint: manualHint });
  say('Installing Chromium with apt-get (first run only, takes a minute or two)…');
  const t0 = Date.now();
  const logFile = path.join(cache, 'logs', 'chromium-apt.log');
  const options = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, cwd: cache, timeoutMs: APT_TIMEOUT_MS, logFile, hint: `check that the Debian mirrors are reachable, or ${manualHint}` };
  try {
    await runLogged(STEP, apt, ['install', '-y', '--no-install-recommends', 'chromium'], options);
  } catch {
    // Usually "Unable to locate package": the package lists were never fetched (fresh containers).
    await runLogged('apt-get update', apt, ['update'], { ...options, logFile: path.join(cache, 'logs', 'apt-update.log') });
    await runLogged(STEP, apt, ['install', '-y', '--no-install-recommends', 'chromium'], options);
  }
  const found = findChromium();
  if (!found) throw new SetupError(STEP, 'apt-get installed chromium, but no working `chromium` is on PATH', { hint: manualHint, log: logFile });
  say(`✓ Chromium ${found.versions.chromium} installed in ${seconds(Date.now() - t0)}: ${found.path}`);
  return found.path;
}
