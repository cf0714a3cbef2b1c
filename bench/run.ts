/**
 * `npm run bench`: Trainyard's benchmarks in one run, each phase on its own fresh dev server and
 * worker, Trainyard measured side by side with bare-Temporal baselines. Writes the figures to
 * bench/results/latest.json and a table to docs/PERFORMANCE.md (full runs only).
 *
 * Exits non-zero only when a phase could not measure; missed targets are reported, not failed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../client/toolchain.js';
import { projectRoot } from '../workers/bundle.js';
import { parseFlags, USAGE, type BenchOptions, type Phase } from './flags.js';
import { measureForgeCost } from './forge-cost.js';
import { ledgerHistory, liveHistories, recordedHistories } from './history.js';
import { measureReaction } from './reaction.js';
import { renderMarkdown, targetsOf, type BenchResults } from './report.js';
import { measureScale } from './scale.js';
import { buildBaselineBundle, removeTempDirs, startServer, withStack } from './stack.js';
import { measureStartup } from './startup.js';
import { measureCli } from './cli.js';
import { readSuiteTime } from './suite.js';

const root = projectRoot();
const log = (line: string) => console.log(line);

function machine(): BenchResults['machine'] {
  let temporalServer: string | undefined;
  try {
    temporalServer = (JSON.parse(readFileSync(join(cacheDir(), 'toolchain.json'), 'utf8')) as { versions?: { temporalServer?: string } }).versions?.temporalServer;
  } catch {
    /* an override binary: version unknown */
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    temporalServer: temporalServer ?? 'unknown',
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function command(): string {
  const args = process.argv.slice(2).join(' ');
  return `npm run bench${args ? ` -- ${args}` : ''}`;
}

/** Runs one phase; a phase that cannot measure is recorded and the others still run. */
async function phase(results: BenchResults, name: Phase, opts: BenchOptions, body: () => Promise<void>): Promise<void> {
  if (!opts.phases.includes(name)) return;
  const started = Date.now();
  log(`▶ ${name}`);
  try {
    await body();
    log(`✓ ${name} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    results.errors[name] = message;
    log(`✗ ${name} could not measure: ${message}`);
  }
}

async function measure(opts: BenchOptions, results: BenchResults): Promise<void> {
  const distBench = join(root, 'dist', 'bench');
  mkdirSync(distBench, { recursive: true });
  const needsWorker = opts.phases.some((p) => p === 'cli' || p === 'reaction' || p === 'history' || p === 'scale');
  const baselineBundle = needsWorker ? await buildBaselineBundle(distBench) : '';

  await phase(results, 'startup', opts, async () => {
    const server = await startServer(opts.db);
    try {
      results.startup = await measureStartup(server.address, opts.startupSamples);
    } finally {
      await server.stop();
    }
  });
  await phase(results, 'cli', opts, async () => {
    results.cli = await withStack(baselineBundle, opts.db, (stack) => measureCli(stack, opts.quick ? 3 : 10));
  });
  await phase(results, 'reaction', opts, async () => {
    results.reaction = await withStack(baselineBundle, opts.db, (stack) => measureReaction(stack, opts.trials, log));
  });
  await phase(results, 'history', opts, async () => {
    const recorded = recordedHistories(join(root, 'test', 'histories'));
    results.history = await withStack(baselineBundle, opts.db, async (stack) => {
      const { live, polling } = await liveHistories(stack, opts.polls);
      const ledger = await ledgerHistory(stack, opts.deployments, log);
      return { recorded, live, polling, ledger };
    });
  });
  await phase(results, 'scale', opts, async () => {
    results.scale = await withStack(baselineBundle, opts.db, (stack) => measureScale(stack, opts.trains, log));
  });
  await phase(results, 'forge', opts, async () => {
    results.forge = await measureForgeCost(opts.db, log);
  });
  await phase(results, 'suite', opts, async () => {
    results.suite = readSuiteTime(join(root, '.trainyard', 'test-results.json'), root);
  });
}

function write(opts: BenchOptions, results: BenchResults): void {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const markdown = renderMarkdown(results);
  if (opts.official) {
    writeFileSync(join(dir, 'latest.json'), json);
    writeFileSync(join(root, 'docs', 'PERFORMANCE.md'), markdown);
    log('wrote bench/results/latest.json and docs/PERFORMANCE.md');
  } else {
    // Git-ignored (*.tmp): a partial or quick run never replaces the full run's figures.
    writeFileSync(join(dir, 'partial.json.tmp'), json);
    writeFileSync(join(dir, 'partial.md.tmp'), markdown);
    log('wrote bench/results/partial.json.tmp and partial.md.tmp (a full run writes latest.json and docs/PERFORMANCE.md)');
  }
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseFlags(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  const results: BenchResults = {
    command: command(),
    mode: opts.official ? 'full' : opts.quick ? 'quick' : 'partial',
    startedAt: new Date(started).toISOString(),
    durationSeconds: 0,
    machine: machine(),
    options: { trains: opts.trains, trials: opts.trials, deployments: opts.deployments, polls: opts.polls, startupSamples: opts.startupSamples, phases: opts.phases, db: opts.db },
    errors: {},
    targets: [],
  };
  try {
    await measure(opts, results);
  } catch (err) {
    results.errors.setup = err instanceof Error ? err.message : String(err);
    log(`✗ could not set up the bench: ${results.errors.setup}`);
  } finally {
    removeTempDirs();
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  results.machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  results.targets = targetsOf(results);
  write(opts, results);
  console.log(`\n${renderMarkdown(results, { summaryOnly: true })}`);
  return Object.keys(results.errors).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
