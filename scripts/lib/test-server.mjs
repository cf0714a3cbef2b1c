// Temporal's time-skipping test server (a Java program) from Maven Central,
// started through a generated shell wrapper with a class-data-sharing archive.
//
// Why the effort on start-up time: the Temporal SDK spawns the wrapper as
// `<exe> <port> --enable-time-skipping`, polls the port for 5 s (hard-coded)
// and then SIGKILLs the pid it spawned. So the wrapper must `exec` java (the pid
// must be the JVM) and the JVM must listen well within 5 s on a busy 2-core box.
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, grpcGetSystemInfo, processName, startAndWaitForPort, stop } from './probe.mjs';
import {
  RETRY, SetupError, lastLines, runLogged, runQuick, say, seconds, shQuote, which, writeFileAtomic,
} from './util.mjs';

const POM = fileURLToPath(new URL('../test-server/pom.xml', import.meta.url));
const MAIN_CLASS = 'io.temporal.testserver.TestServer';
const MVN_TIMEOUT_MS = 10 * 60_000;
const JVM_START_TIMEOUT_MS = 60_000;
const SDK_START_BUDGET_MS = 5000;

// C1 only and the serial GC cut the JIT/GC threads that compete for 2 cores
// during start-up. Measured median until the port accepts TCP, 2-core box with
// the other core busy: 247 ms with these flags + CDS archive, 727 ms with these
// flags alone, 747 ms for plain `java -cp lib/*`; C2 enabled: 471 ms, G1: 262 ms.
// The server keeps all workflow state in memory, hence a modest, not tiny heap.
const JVM_FLAGS = [
  '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xms64m', '-Xmx512m', '-XX:-UsePerfData', '-Xshare:auto',
];

/** The version pinned in scripts/test-server/pom.xml (the single source of truth). */
export const TEST_SERVER_VERSION = /<testServer\.version>([^<]+)</.exec(readFileSync(POM, 'utf8'))[1];
const STEP_FETCH = `download Temporal test server ${TEST_SERVER_VERSION} from Maven Central`;
const STEP_VERIFY = `start Temporal test server ${TEST_SERVER_VERSION}`;
const STEP_JAVA = `find Java for the Temporal test server`;

export function testServerPaths(cache) {
  const dir = path.join(cache, `temporal-test-server-${TEST_SERVER_VERSION}`);
  return {
    dir,
    lib: path.join(dir, 'lib'),
    wrapper: path.join(dir, 'temporal-test-server'),
    archive: path.join(dir, 'app.jsa'),
    stamp: path.join(dir, 'installed.json'), // written last: its presence means "complete"
  };
}

/**
 * Identifies the exact JVM build: a CDS archive only maps into the JVM that
 * wrote it, so an upgraded JDK means the archive (and wrapper) must be redone.
 */
function jvmFingerprint(java) {
  try {
    const libjvm = path.join(path.dirname(path.dirname(java)), 'lib', 'server', 'libjvm.so');
    const s = statSync(existsSync(libjvm) ? libjvm : java);
    return `${java}:${s.size}:${Math.round(s.mtimeMs)}`;
  } catch {
    return undefined;
  }
}

/** The installed wrapper's path if the install is complete and its JVM unchanged. */
export function probeTestServer(cache) {
  const { wrapper, stamp, lib, archive } = testServerPaths(cache);
  try {
    const info = JSON.parse(readFileSync(stamp, 'utf8'));
    const intact = existsSync(wrapper) && existsSync(lib) && (!info.cds || existsSync(archive));
    if (info.version !== TEST_SERVER_VERSION || !intact) return undefined;
    return jvmFingerprint(info.java) === info.jvm ? wrapper : undefined;
  } catch {
    return undefined;
  }
}

function requireJava() {
  const hint = `Install a JDK 17+ (\`apt-get install openjdk-17-jdk-headless\`); then ${RETRY}`;
  const onPath = which('java');
  if (!onPath) throw new SetupError(STEP_JAVA, '`java` is not on PATH', { hint });
  const { ok, out } = runQuick(onPath, ['-version']);
  if (!ok) throw new SetupError(STEP_JAVA, '`java -version` failed', { tail: out, hint });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out);
  const major = m ? Number(m[1] === '1' ? m[2] : m[1]) : 0; // "1.8.0" → 8, "17.0.15" → 17
  // Pin the resolved binary (not the /usr/bin/java alternatives link) so the archive stays valid.
  return { java: realpathSync(onPath), major };
}

function requireMvn() {
  const mvn = which('mvn');
  if (!mvn) {
    throw new SetupError(STEP_FETCH, '`mvn` is not on PATH', {
      hint: `Install Maven 3.6+ (\`apt-get install maven\`); then ${RETRY}`,
    });
  }
  return mvn;
}

async function fetchJars(mvn, lib, logDir) {
  say(`Downloading Temporal test server ${TEST_SERVER_VERSION} and its jars from Maven Central (first run only)…`);
  const t0 = Date.now();
  // = `dependency:copy-dependencies`, spelled out so Maven skips the plugin-prefix
  // lookup: offline, that lookup fails with a misleading "No plugin found for prefix".
  const goal = 'org.apache.maven.plugins:maven-dependency-plugin:copy-dependencies';
  await runLogged(STEP_FETCH, mvn, ['-B', '-q', '-Dstyle.color=never', '-f', POM, goal, `-DoutputDirectory=${lib}`], {
    env: process.env,
    timeoutMs: MVN_TIMEOUT_MS,
    logFile: path.join(logDir, 'temporal-test-server-mvn.log'),
    hint: `Check that Maven Central is reachable (or a mirror in ~/.m2/settings.xml); then ${RETRY}`,
  });
  const jars = readdirSync(lib).filter((f) => f.endsWith('.jar')).sort();
  if (!jars.some((f) => f.startsWith('temporal-test-server-'))) {
    throw new SetupError(STEP_FETCH, `Maven finished but ${lib} holds no temporal-test-server jar`, { hint: RETRY });
  }
  say(`  ${jars.length} jars in ${seconds(Date.now() - t0)}`);
  // An explicit, sorted class path rather than `lib/*`: the wildcard expands in
  // directory order, and CDS only accepts the exact class path it was dumped with.
  return jars.map((f) => path.join(lib, f)).join(path.delimiter);
}

/**
 * Dump a dynamic AppCDS archive: run the server once with ArchiveClassesAtExit,
 * make one gRPC call so the request path is loaded too, then SIGTERM it (the JVM
 * writes the archive on its orderly exit). Returns a reason string on failure.
 */
async function trainArchive(java, classpath, archive) {
  rmSync(archive, { force: true });
  const port = await freePort();
  const args = [...JVM_FLAGS, `-XX:ArchiveClassesAtExit=${archive}`, '-cp', classpath, MAIN_CLASS, String(port), '--enable-time-skipping'];
  const run = await startAndWaitForPort(java, args, port, { timeoutMs: JVM_START_TIMEOUT_MS });
  if (run.ms === undefined) {
    await stop(run.child);
    return `training run did not listen: ${lastLines(run.output, 5)}`;
  }
  await grpcGetSystemInfo(port);
  if (!(await stop(run.child, 'SIGTERM'))) return 'training run did not exit on SIGTERM';
  if (!existsSync(archive) || statSync(archive).size === 0) return 'the JVM wrote no archive';
  // -Xshare:on turns "archive unusable" into a failed start instead of a silent fallback.
  const flags = JVM_FLAGS.filter((f) => !f.startsWith('-Xshare'));
  const check = runQuick(java, [`-XX:SharedArchiveFile=${archive}`, '-Xshare:on', ...flags, '-cp', classpath, '-version']);
  return check.ok ? undefined : `archive does not load: ${lastLines(check.out, 3)}`;
}

function writeWrapper(wrapper, java, classpath, archive) {
  const flags = [...(archive ? [`-XX:SharedArchiveFile=${archive}`] : []), ...JVM_FLAGS];
  const script = `#!/bin/sh
# Generated by scripts/setup.mjs: Temporal time-skipping test server ${TEST_SERVER_VERSION}.
# Usage: temporal-test-server <port> [--enable-time-skipping]
# exec, so that the pid the Temporal SDK spawned (and later kills) is the JVM itself.
exec ${shQuote(java)} ${flags.map(shQuote).join(' ')} -cp ${shQuote(classpath)} ${MAIN_CLASS} "$@"
`;
  writeFileAtomic(wrapper, script, 0o755);
}

/** Start the wrapper like the SDK does; returns ms until the port accepted TCP. */
export async function verifyWrapper(wrapper) {
  const port = await freePort();
  const run = await startAndWaitForPort(wrapper, [String(port), '--enable-time-skipping'], port, { timeoutMs: JVM_START_TIMEOUT_MS });
  try {
    if (run.ms === undefined) {
      const what = run.exited ? 'exited during start-up' : `did not listen within ${JVM_START_TIMEOUT_MS / 1000} s`;
      throw new SetupError(STEP_VERIFY, `the test server ${what}`, {
        tail: lastLines(run.output), hint: `delete ${path.dirname(wrapper)}; then ${RETRY}`,
      });
    }
    const name = processName(run.child.pid);
    if (name !== undefined && name !== 'java') {
      throw new SetupError(STEP_VERIFY, `the wrapper's pid runs "${name}", not java (it must exec java)`, { hint: RETRY });
    }
    if (!(await grpcGetSystemInfo(port))) {
      throw new SetupError(STEP_VERIFY, 'the test server listens but does not answer gRPC GetSystemInfo', { hint: RETRY });
    }
    return run.ms;
  } finally {
    await stop(run.child);
  }
}

/** Fresh install into the final directory; the caller holds the cache lock. */
export async function installTestServer(cache) {
  const { java, major } = requireJava();
  const mvn = requireMvn();
  const p = testServerPaths(cache);
  rmSync(p.dir, { recursive: true, force: true }); // leftovers of an interrupted run
  mkdirSync(p.lib, { recursive: true });
  const classpath = await fetchJars(mvn, p.lib, path.join(cache, 'logs'));

  // Dynamic CDS archives need JDK 13+; without one the server still works, only slower.
  const why = major >= 13 ? await trainArchive(java, classpath, p.archive) : `needs JDK 13+, found ${major}`;
  if (why) {
    rmSync(p.archive, { force: true });
    say(`  ! no class-data-sharing archive (${why}); the test server will start slower`);
  }
  writeWrapper(p.wrapper, java, classpath, why ? undefined : p.archive);

  const ms = await verifyWrapper(p.wrapper);
  const warn = ms > SDK_START_BUDGET_MS / 2 ? ` (slow: the SDK allows only ${SDK_START_BUDGET_MS / 1000} s)` : '';
  writeFileAtomic(p.stamp, `${JSON.stringify({ version: TEST_SERVER_VERSION, java, jvm: jvmFingerprint(java), cds: !why }, null, 2)}\n`);
  say(`✓ Temporal test server ${TEST_SERVER_VERSION} (cold start ${Math.round(ms)} ms${why ? '' : ' with CDS'}${warn}): ${p.wrapper}`);
  return p.wrapper;
}
