/**
 * Start-up: how long until a worker runs, loading the prebuilt workflow bundle (what `npm start`
 * and `trainyard worker` do) vs bundling the workflow code at start. Each sample is a fresh process;
 * the two modes alternate so machine noise falls on both.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { median } from './stats.js';
import type { StartupSample } from './startup-probe.js';

export interface StartupResult {
  samples: number;
  prebuilt: { readyMs: number; processMs: number };
  bundle: { readyMs: number; processMs: number };
  /** bundle ÷ prebuilt, on the ready time. */
  ratio: number;
}

function probe(address: string, mode: 'prebuilt' | 'bundle'): Promise<StartupSample> {
  return new Promise((resolve, reject) => {
    const child = fork(join(import.meta.dirname, 'startup-probe.js'), [mode], { env: { ...process.env, BENCH_ADDRESS: address }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    let sample: StartupSample | undefined;
    child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.on('message', (m: StartupSample) => (sample = m));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (sample) resolve(sample);
      else reject(new Error(`the start-up probe (${mode}) exited with ${code} without a sample:\n${output}`));
    });
  });
}

export async function measureStartup(address: string, samples: number): Promise<StartupResult> {
  const got: StartupSample[] = [];
  for (let i = 0; i < samples; i++) {
    const order: ('prebuilt' | 'bundle')[] = i % 2 === 0 ? ['prebuilt', 'bundle'] : ['bundle', 'prebuilt'];
    for (const mode of order) got.push(await probe(address, mode));
  }
  const of = (mode: StartupSample['mode']) => {
    const s = got.filter((g) => g.mode === mode);
    return { readyMs: median(s.map((x) => x.readyMs)), processMs: median(s.map((x) => x.processMs)) };
  };
  const prebuilt = of('prebuilt');
  const bundle = of('bundle');
  return { samples, prebuilt, bundle, ratio: bundle.readyMs / prebuilt.readyMs };
}
