/**
 * The bench's results: their JSON shape, the targets of issue #8 judged as met or missed, and the
 * Markdown of docs/PERFORMANCE.md.
 */
import type { ForgeFigures } from './forge-cost.js';
import { observations } from './observations.js';
import type { HistoryResult } from './history.js';
import type { PathResult, ReactionResult } from './reaction.js';
import type { ScaleResult } from './scale.js';
import type { StartupResult } from './startup.js';
import type { CliResult } from './cli.js';
import { round } from './stats.js';
import type { SuiteResult } from './suite.js';

export interface TargetRow {
  figure: string;
  measured: string;
  target: string;
  /** undefined: not measured. */
  met?: boolean;
}

export interface BenchResults {
  command: string;
  mode: 'full' | 'quick' | 'partial';
  startedAt: string;
  durationSeconds: number;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; kernel: string; temporalServer: string; loadAverageAtStart: number[]; loadAverageAtEnd?: number[] };
  options: { trains: number; trials: number; deployments: number; polls: number; startupSamples: number; phases: string[]; db: string };
  startup?: StartupResult;
  cli?: CliResult;
  reaction?: ReactionResult;
  history?: HistoryResult;
  scale?: ScaleResult;
  forge?: Record<string, ForgeFigures>;
  suite?: SuiteResult | { missing: string };
  errors: Record<string, string>;
  targets: TargetRow[];
}

/** 1.5 GB, read as 1.5 × 10⁹ bytes (the stricter reading), in MiB. */
const RSS_LIMIT_MIB = 1.5e9 / 2 ** 20;
const DB: Record<string, string> = { tmpfs: 'a new file in /dev/shm (tmpfs)', disk: 'a new file in the OS temp folder (disk)', memory: 'in memory' };
const ms = (x: number) => `${round(x, 1)} ms`;
const x2 = (x: number) => `${round(x, 2)}×`;

function reactionTargets(name: string, p: PathResult | undefined): TargetRow[] {
  return (['p50', 'p99'] as const).map((q) => ({
    figure: `reaction, ${name}: ${q} ratio to the bare baseline`,
    measured: p ? `${x2(p.ratio[q])} (${ms(p.trainyard[q])} vs ${ms(p.bare[q])})` : 'not measured',
    target: '≤ 1.2×',
    ...(p ? { met: p.ratio[q] <= 1.2 } : {}),
  }));
}

export function targetsOf(r: BenchResults): TargetRow[] {
  const rows = [...reactionTargets('promote → production deploy', r.reaction?.promote), ...reactionTargets('freeze ends → deferred deploy', r.reaction?.unfreeze)];
  const happy = r.history?.live.find((l) => l.path.startsWith('happy path'));
  rows.push({ figure: 'history: happy path (live)', measured: happy ? `${happy.events} events` : 'not measured', target: '≤ 150 events', ...(happy ? { met: happy.events <= 150 } : {}) });
  const poll = r.history?.polling;
  rows.push({
    figure: `history: a deploy polling ${poll?.polls.toLocaleString('en') ?? 'n'} times vs once`,
    measured: poll ? `${poll.many} vs ${poll.once} events (without workflow-task events)` : 'not measured',
    target: 'adds none',
    ...(poll ? { met: poll.many === poll.once } : {}),
  });
  const ledger = r.history?.ledger;
  rows.push({
    figure: `history: ledger after ${ledger?.deployments.toLocaleString('en') ?? 'n'} deployments`,
    measured: ledger ? `${ledger.runs} runs, at most ${ledger.maxRunEvents} events in one (${ledger.currentRunEvents} in the current run)` : 'not measured',
    target: 'bounded by continue-as-new (< 4,096 a run)',
    ...(ledger ? { met: ledger.maxRunEvents < 4096 } : {}),
  });
  const s = r.scale;
  rows.push({ figure: `scale: worker RSS with ${s?.trains ?? 'n'} trains held`, measured: s ? `${Math.round(s.rss.heldMiB)} MiB` : 'not measured', target: '< 1.5 GB (1,431 MiB)', ...(s ? { met: s.rss.heldMiB < RSS_LIMIT_MIB } : {}) });
  rows.push({
    figure: `scale: ${s?.trains ?? 'n'} trains promoted at once, all in production`,
    measured: s ? `${round(s.allInProductionSeconds)} s (all released: ${round(s.allReleasedSeconds)} s)` : 'not measured',
    target: '≤ 60 s',
    ...(s ? { met: s.allInProductionSeconds <= 60 } : {}),
  });
  const forges = Object.entries(r.forge ?? {});
  for (const [name, f] of forges) rows.push({ figure: `forge: API calls per train on ${name}`, measured: String(f.callsPerTrain), target: '≤ 25', met: f.callsPerTrain <= 25 });
  if (forges.length === 0) rows.push({ figure: 'forge: API calls per train (GitHub, GitLab)', measured: 'not measured', target: '≤ 25' });
  const c = r.cli;
  rows.push({ figure: 'CLI: `trainyard --help` ÷ `node -e 0`', measured: c ? `${x2(c.help.ratio)} (${ms(c.help.trainyardMs)} vs ${ms(c.help.nodeMs)})` : 'not measured', target: '≤ 3×', ...(c ? { met: c.help.ratio <= 3 } : {}) });
  rows.push({ figure: 'CLI: `trainyard status <train>` ÷ `temporal workflow query`', measured: c ? `${x2(c.status.ratio)} (${ms(c.status.trainyardMs)} vs ${ms(c.status.temporalMs)})` : 'not measured', target: '≤ 4×', ...(c ? { met: c.status.ratio <= 4 } : {}) });
  return rows;
}

const verdict = (met: boolean | undefined) => (met === undefined ? '—' : met ? '**met**' : '**missed**');

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function targetsTable(r: BenchResults): string {
  return table(['figure', 'measured', 'target', ''], r.targets.map((t) => [t.figure, t.measured, t.target, verdict(t.met)]));
}

function machineSection(r: BenchResults): string {
  const m = r.machine;
  return table(
    ['', ''],
    [
      ['command', `\`${r.command}\` (${r.mode} run, ${r.durationSeconds} s, started ${r.startedAt})`],
      ['machine', `${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`],
      ['software', `Node ${m.node}, Temporal dev server ${m.temporalServer}, a fresh one per phase; its SQLite: ${DB[r.options.db] ?? r.options.db}`],
      ['load average (1/5/15 min)', `${m.loadAverageAtStart.join(' / ')} at start, ${m.loadAverageAtEnd?.join(' / ') ?? '?'} at end`],
      ['sizes', `${r.options.trials} trials per path, ${r.options.trains} trains at scale, ${r.options.deployments} ledger deployments, ${r.options.polls} polls`],
    ],
  );
}

function reactionSection(x: ReactionResult): string {
  const rows: (string | number)[][] = [];
  for (const [name, p] of [['promote → production deploy starts', x.promote], ['unfreeze → deferred deploy starts', x.unfreeze]] as const) {
    for (const kind of ['trainyard', 'bare', 'hops'] as const) {
      const s = p[kind];
      rows.push([name, kind, ms(s.p50), ms(s.p99), ms(s.mean), ms(s.max), s.n]);
    }
    rows.push([name, '**Trainyard ÷ bare**', x2(p.ratio.p50), x2(p.ratio.p99), '', '', '']);
    rows.push([name, 'Trainyard ÷ hops', x2(p.hopsRatio.p50), x2(p.hopsRatio.p99), '', '', '']);
  }
  const legs = table(
    ['path', 'split where', 'Trainyard (before + after, p50)', 'hops (before + after, p50)'],
    [
      ['promote', x.promote.legs.step, legsOf(x.promote.legs.trainyard), legsOf(x.promote.legs.hops)],
      ['unfreeze', x.unfreeze.legs.step, legsOf(x.unfreeze.legs.trainyard), legsOf(x.unfreeze.legs.hops)],
    ],
  );
  return `${table(['path', 'kind', 'p50', 'p99', 'mean', 'max', 'trials'], rows)}\n\nWhere the time goes: each reaction split at an intermediate activity.\n\n${legs}`;
}

const legsOf = ([before, after]: [number, number]) => `${ms(before)} + ${ms(after)}`;

function historySection(h: HistoryResult): string {
  const live = table(['path (live, dev server)', 'ends', 'events', 'without workflow-task events'], h.live.map((l) => [l.path, l.outcome ?? '', l.events, l.eventsWithoutWorkflowTasks]));
  const recorded = table(['recorded history (test/histories)', 'workflow', 'events', 'without workflow-task events'], h.recorded.map((l) => [l.path, l.workflow ?? '', l.events, l.eventsWithoutWorkflowTasks]));
  const g = h.ledger;
  const ledger = table(
    ['environment ledger', ''],
    [
      ['deployments', g.deployments],
      ['runs (continue-as-new)', g.runs],
      ['events in the current run', g.currentRunEvents],
      ['events in the longest run', g.maxRunEvents],
      ['events in all runs', g.totalEvents],
      ['events per deployment', round(g.eventsPerDeployment, 1)],
      ['deployments kept in its state', g.keptDeployments],
    ],
  );
  return `${live}\n\n${ledger}\n\n${recorded}`;
}

const baselineOf = (b: ScaleResult['baseline']['bare'], trainyard: number) =>
  `${round(b.allReactedSeconds)} s (${Math.round(b.workflowTasksPerSecond)} workflow tasks/s); Trainyard's all-in-production ÷ this: ${x2(trainyard / b.allReactedSeconds)}`;

function scaleSection(s: ScaleResult): string {
  return table(
    ['figure', 'value'],
    [
      ['trains (one per service; with their 2 ledgers, running workflows)', `${s.trains} (${s.cache.runningWorkflows})`],
      ['all started → all at the gate', `${round(s.toGateSeconds)} s (${Math.round(s.workflowTasksPerSecond.toGate)} workflow tasks/s, ${s.workflowTasks.toGate} tasks)`],
      ['worker RSS: idle / held at the gate / peak', `${Math.round(s.rss.idleMiB)} / ${Math.round(s.rss.heldMiB)} / ${Math.round(s.rss.peakMiB)} MiB`],
      ['worker RSS per held train, its ledgers included: (held − idle) ÷ trains', `${round(s.rss.heldPerTrainKiB)} KiB`],
      ['workflow cache: max / cached while held', `${s.cache.maxCachedWorkflows} / ${s.cache.cachedWhileHeld}`],
      ['first promote → all production deploys started', `${round(s.allInProductionSeconds)} s`],
      ['first promote → all released', `${round(s.allReleasedSeconds)} s (${Math.round(s.workflowTasksPerSecond.promotion)} workflow tasks/s, ${s.workflowTasks.promotion} tasks)`],
      [`baseline bare: ${s.baseline.bare.workflows} workflows updated at once → all started their activity`, baselineOf(s.baseline.bare, s.allInProductionSeconds)],
      [`baseline hops: ${s.baseline.hops.workflows / 2} train/ledger pairs updated at once → all started their activity`, baselineOf(s.baseline.hops, s.allInProductionSeconds)],
    ],
  );
}

function cliSection(c: CliResult): string {
  return table(
    ['command (median of ' + c.samples + ', fresh process each, side by side)', 'trainyard', 'against', 'ratio (target)'],
    [
      ['`trainyard --help` vs `node -e 0`', ms(c.help.trainyardMs), ms(c.help.nodeMs), `${x2(c.help.ratio)} (≤ 3×)`],
      ['`trainyard status <train> --json` vs `temporal workflow query --name status`', ms(c.status.trainyardMs), ms(c.status.temporalMs), `${x2(c.status.ratio)} (≤ 4×)`],
    ],
  );
}

function startupSection(s: StartupResult): string {
  return table(
    ['worker start (median of ' + s.samples + ')', 'Worker.create → running', 'process start → running'],
    [
      ['prebuilt bundle (dist/workflow-bundle.js)', ms(s.prebuilt.readyMs), ms(s.prebuilt.processMs)],
      ['bundling at start (bundleWorkflowCode)', ms(s.bundle.readyMs), ms(s.bundle.processMs)],
      ['bundling ÷ prebuilt', x2(s.ratio), ''],
    ],
  );
}

function suiteSection(s: SuiteResult | { missing: string }): string {
  if ('missing' in s) return `Not available: ${s.missing}.`;
  const slow = s.slowestFiles.map((f) => `\`${f.file}\` ${round(f.seconds)} s`).join(', ');
  return `${s.tests} tests in ${s.files} files (${s.passed} passed, ${s.failed} failed) ran in **${round(s.wallSeconds)} s** of wall time (test run only; ${s.report}, written ${s.ranAt}). Slowest files: ${slow}.`;
}

function forgeSection(forges: Record<string, ForgeFigures>): string {
  const limited = (n: number | undefined) => (n === undefined ? '' : ` (${round(n, 1)} against the rate limit)`);
  return table(
    ['forge', 'calls per train', 'changelog commits', 'a pipeline deploy, without waiting', 'calls per poll', 'calls per hour waiting on a pipeline (15 s polls)'],
    Object.entries(forges).map(([name, f]) => [name, `${f.callsPerTrain}${limited(f.rateLimitedPerTrain)}`, f.changelogCommits, f.pipelineDeployCalls, round(f.callsPerPoll, 2), `${Math.round(f.callsPerHourWaiting)}${limited(f.rateLimitedPerHourWaiting)}`]),
  );
}

const METHOD = `Each phase runs on its own fresh Temporal dev server (the CLI \`npm run setup\` installed, a new SQLite file,
free ports) with the bench's worker as a child process: a Trainyard worker on the prebuilt bundle with the
product's tuning, and a baseline worker, side by side on one runtime. Activities are instant fakes (the
workflow tests' \`fakeActivities\`) except ledger messages and schedule lookups, which are the real ones; the
deploy activity records \`Date.now()\` when it starts. Each service has one train, and its production ledger
already knows a verified version (a service that has released before).

- **Reaction**: t0 just before the update is sent; the end when the deploy (or baseline target) activity
  started. Trials rotate the order Trainyard → bare → hops, after 3 warm-up trials. *bare* is a workflow that
  waits for an update, then starts an activity. *hops* does the same messages and activities as the train
  and its ledger on that path (a local activity, a signal-with-start and a signal through an activity, the
  ledger's signal back, its schedule lookup on a freeze change), without Trainyard's code: Trainyard ÷ hops
  is the cost of Trainyard's own code, Trainyard ÷ bare the cost of its design.
- **History**: live trains on each path (their service's name selects the fakes' behaviour); the recorded
  histories are the ones the replay test runs. The ledger is driven as trains drive it (subscribe, request,
  grant, release with a deployment) by stand-in workflows.
- **Scale**: RSS from \`/proc/<worker pid>/status\` (VmRSS, VmHWM for the peak); workflow tasks from the
  worker runtime's Prometheus metrics.
- **Forge cost**: the fake GitHub and GitLab of the tests (test/fakes), each request counted in their log. A
  real \`trainyard start\` cut and its train run with the product's activities and forge driver, deploys by
  command, 500 commits since the version production runs, promoted, until released. Waiting: the product's
  pipeline deployer follows a run kept in progress, polled 20 times; calls per poll × 240 polls an hour.
- **Start-up**: a fresh process per sample, starting the worker as \`trainyard worker\` does (demo config).
- **Dev server storage**: by default its SQLite file lives on tmpfs. When this bench was written, the
  database on this VM's disk made fsyncs dominate everything (50 trains took 128 s to reach the gate with it
  on disk, 11 s in memory), which measures the disk rather than Trainyard; \`--db disk\` measures that setup.`;

/** Measured once while writing the bench (one-off experiments, not re-run by it). */
const NOTES = `- **Keep zod out of workflow code.** 300 idle workflows on a bundle of the bench's baseline workflows cost the
  worker 379 KiB of RSS each; the same bundle with \`import { z } from 'zod'\` and one schema added cost 982 KiB
  each (1.6 MB → 2.7 MB bundle). Between two runs of this bench's scale phase an hour apart, the product's workflow bundle
  grew from 2.6 MB to 4.1 MB as workflows with zod schemas in their domain modules (domain/prerelease.ts,
  domain/preview.ts) joined it, and the worker holding 1,000 trains went from 1,521 MiB to 4,142 MiB of RSS with the
  same full cache of 2,310 workflows (about 570 → 1,730 KiB per cached workflow). Schemas belong in modules
  that only the worker and the client import.
- **Signals reach a worker more slowly than updates on this dev server.** A client's signal took 97 ms (p50
  of 40) to start the activity it triggers, an update 52 ms, side by side. The reaction legs after the lock
  request (about 200 ms, in Trainyard and in bare Temporal alike) carry two signal-triggered workflow tasks:
  the request reaching the ledger, and the grant reaching the train.`;

export function renderMarkdown(r: BenchResults, opts: { summaryOnly?: boolean } = {}): string {
  const parts = [`## Targets\n\n${targetsTable(r)}`];
  if (Object.keys(r.errors).length > 0) parts.push(`## Could not measure\n\n${Object.entries(r.errors).map(([p, e]) => `- ${p}: ${e}`).join('\n')}`);
  if (opts.summaryOnly) return parts.join('\n\n');
  const sections = [
    '# Performance',
    `Figures from \`npm run bench\` (code in [bench/](../bench), raw figures in [bench/results/latest.json](../bench/results/latest.json)); this file is written by the bench, do not edit it by hand. \`npm run bench -- --quick\` checks the harness in about two minutes without touching this file.`,
    `## Machine and command\n\n${machineSection(r)}\n\nThis machine is shared with other engineers while the bench runs, so absolute times move with their load. The ratios are what matter: each is measured side by side, trial by trial, against a baseline on the same server and worker.`,
    ...parts,
    `## Reading these figures\n\n${observations(r)}`,
    `## 1. Reaction time\n\n${r.reaction ? reactionSection(r.reaction) : 'Not measured.'}`,
    `## 2. History per train\n\n${r.history ? historySection(r.history) : 'Not measured.'}`,
    `## 3. Scale on one worker\n\n${r.scale ? scaleSection(r.scale) : 'Not measured.'}`,
    `## 4. Forge cost\n\n${r.forge ? forgeSection(r.forge) : 'Not measured.'}`,
    `## 5. Start-up\n\n${r.startup ? startupSection(r.startup) : 'Not measured.'}${r.cli ? `\n\n${cliSection(r.cli)}` : ''}`,
    `## 6. Test-suite time\n\n${r.suite ? suiteSection(r.suite) : 'Not measured.'}`,
    `## How it is measured\n\n${METHOD}`,
    `## Notes\n\n${NOTES}`,
  ];
  return `${sections.join('\n\n')}\n`;
}
