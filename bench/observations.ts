/**
 * "Reading these figures": what the measured numbers say, written from the numbers themselves so
 * the text stays true when the figures change.
 */
import type { BenchResults } from './report.js';
import { round } from './stats.js';

const ms = (x: number) => `${Math.round(x)} ms`;
const x2 = (x: number) => `${round(x, 2)}×`;

function reaction(r: BenchResults): string[] {
  const x = r.reaction;
  if (!x) return [];
  const out: string[] = [];
  const p = x.promote;
  const codeCost = p.hopsRatio.p50 <= 1.2 ? 'within noise of' : `${x2(p.hopsRatio.p50)}`;
  out.push(
    `**Reaction.** A promote reaches the production deploy in ${ms(p.trainyard.p50)} (p50), ${x2(p.ratio.p50)} the bare baseline's ${ms(p.bare.p50)}, ` +
      `but ${codeCost} bare Temporal doing the same hops (${ms(p.hops.p50)}). The time is in the design's hops, not in Trainyard's code: ` +
      `the lock is requested from the environment ledger through an activity (signal-with-start), the ledger's workflow task grants it with a signal back, ` +
      `and only then does the train schedule its deploy. Split at the lock request: ${ms(p.legs.trainyard[0])} before, ${ms(p.legs.trainyard[1])} after ` +
      `(bare Temporal doing the same: ${ms(p.legs.hops[0])} + ${ms(p.legs.hops[1])}).`,
  );
  const u = x.unfreeze;
  out.push(
    `**Unfreeze.** The deferred deploy starts ${ms(u.trainyard.p50)} after \`unfreeze\` (${x2(u.ratio.p50)} bare, ${x2(u.hopsRatio.p50)} hops). ` +
      `In the ledger measured, a freeze change is first told to the subscribed trains and the cut schedule is looked up, and only then is the lock granted: ` +
      `${ms(u.legs.trainyard[0])} pass before that lookup starts and ${ms(u.legs.trainyard[1])} after it. Granting before the broadcast and the lookup would take most of that off the reaction.`,
  );
  return out;
}

function scale(r: BenchResults): string[] {
  const s = r.scale;
  if (!s) return [];
  const perWorkflow = ((s.rss.heldMiB - s.rss.idleMiB) * 1024) / Math.max(1, s.cache.cachedWhileHeld);
  const capped = s.cache.runningWorkflows > s.cache.maxCachedWorkflows;
  // 1.5 GB (the target), read as 1.5 × 10⁹ bytes, in MiB.
  const fits = Math.floor(((1.5e9 / 2 ** 20 - s.rss.idleMiB) * 1024) / perWorkflow);
  return [
    `**Memory.** Held trains cost the worker about ${Math.round(perWorkflow)} KiB of RSS per cached workflow (on average over trains and their ledgers). ` +
      `The SDK's default cache (${s.cache.maxCachedWorkflows} workflows, derived from the heap limit) ${capped ? `was full with ${s.cache.runningWorkflows} workflows running, so RSS stopped growing only because the cache evicts (evicted workflows replay their history on their next task)` : 'was not full'}. ` +
      `At this cost per workflow, 1.5 GB holds about ${fits} cached workflows. \`TRAINYARD_MAX_CACHED_WORKFLOWS\` bounds the cache at the cost of replays of evicted workflows; RSS does not follow it one for one (V8 gives memory back lazily), so measure a bound with \`TRAINYARD_MAX_CACHED_WORKFLOWS=<n> npm run bench -- --only scale\`.`,
    `**Promotion at scale.** All ${s.trains} production deploys started ${round(s.allInProductionSeconds)} s after the first promote, ${x2(s.allInProductionSeconds / s.baseline.hops.allReactedSeconds)} the time of ${s.trains} bare train/ledger pairs doing the same hops ` +
      `and ${x2(s.allInProductionSeconds / s.baseline.bare.allReactedSeconds)} that of ${s.trains} bare workflows. Each train's promote costs about ${round(s.workflowTasks.promotion / s.trains, 1)} workflow tasks (train and ledger); on a shared two-core machine the worker runs ${Math.round(s.workflowTasksPerSecond.promotion)} of them a second.`,
  ];
}

function startup(r: BenchResults): string[] {
  const s = r.startup;
  if (!s) return [];
  return [
    `**Start-up.** The prebuilt bundle makes a worker ready in ${ms(s.prebuilt.readyMs)} after \`Worker.create\`, ${x2(s.ratio)} faster than bundling at start (${ms(s.bundle.readyMs)}); ` +
      `most of a fresh process's ${ms(s.prebuilt.processMs)} is Node loading modules.`,
  ];
}

export function observations(r: BenchResults): string {
  const lines = [...reaction(r), ...scale(r), ...startup(r)];
  return lines.length > 0 ? lines.map((l) => `- ${l}`).join('\n') : 'Nothing measured.';
}
