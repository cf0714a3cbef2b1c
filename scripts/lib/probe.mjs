// Start a server process and watch it come up, the way the Temporal SDK does:
// it spawns the executable and gives the port 5 s before it kills the process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { killGroup, track } from './util.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setTimeout(1000, () => sock.destroy());
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('close', () => resolve(false));
  });
}

/**
 * One unary gRPC call WorkflowService/GetSystemInfo with an empty request (a
 * 5-byte frame: no compression, length 0), over node:http2 so that setup needs
 * no npm packages. Resolves true when the server answers grpc-status 0.
 */
export function grpcGetSystemInfo(port, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const done = (ok) => {
      session.destroy();
      resolve(ok);
    };
    session.on('error', () => done(false));
    session.setTimeout(timeoutMs, () => done(false));
    const req = session.request({
      ':method': 'POST',
      ':path': '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status;
    req.on('response', (h) => (status = h['grpc-status'] ?? status));
    req.on('trailers', (t) => (status = t['grpc-status'] ?? status));
    req.on('data', () => {});
    req.on('end', () => done(status === '0'));
    req.on('error', () => done(false));
    req.end(Buffer.alloc(5));
  });
}

/**
 * Spawn `cmd args` (own process group), poll until `port` accepts TCP.
 * Resolves { child, ms } on success, { child, exited, output } if it died,
 * { child, timedOut, output } after `timeoutMs`. The caller stops the child.
 */
export async function startAndWaitForPort(cmd, args, port, { timeoutMs, env } = {}) {
  const t0 = performance.now();
  const child = track(spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const keep = (b) => (output = (output + b.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    output += err.message;
  });
  while (performance.now() - t0 < timeoutMs) {
    if (exited) return { child, exited, output };
    if (await canConnect(port)) return { child, ms: performance.now() - t0 };
    await sleep(10);
  }
  return { child, timedOut: true, output };
}

/** Stop a child started by startAndWaitForPort and wait (bounded) for it to exit. */
export async function stop(child, signal = 'SIGKILL', graceMs = 30_000) {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = new Promise((r) => child.once('exit', () => r(true)));
  if (signal === 'SIGKILL') killGroup(child);
  else child.kill(signal); // graceful: only the direct child, so the JVM runs its exit path
  let timer;
  const ok = await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs, false)))]);
  clearTimeout(timer); // a pending timer would keep setup alive for graceMs
  if (!ok) {
    killGroup(child);
    await exited;
  }
  return ok;
}

/** The executable name of a live pid (Linux only), e.g. "java"; undefined elsewhere. */
export function processName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
