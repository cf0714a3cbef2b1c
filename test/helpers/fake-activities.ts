/**
 * Activities for workflow tests: in-memory stand-ins for the forge, deployers and checks, whose
 * behaviour each test sets and whose calls it can count. (Activities themselves are tested against
 * real git, real processes and real HTTP servers in test/activities.)
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { translated } from '../../activities/index.js';
import { TrainyardError } from '../../domain/errors.js';
import { activeTrainFinder, cutScheduleController, ledgerSignaller, rollbackStarter, schedulePauser, trainSuperseder, workflowWatcher } from '../../activities/ledger.js';
import type { CheckRequest, DeployOutcome, DeployRequest, Notification, TrainActivities } from '../../activities/types.js';
import type { FreezeWindow } from '../../domain/freeze-windows.js';
import type { CommitRelation } from '../../domain/production-order.js';
import type { CheckOutcome, EnvironmentName, TrainPolicy } from '../../domain/train.js';

export interface FakeWorld {
  deploys: DeployRequest[];
  checks: CheckRequest[];
  notifications: Notification[];
  /** `<environment>:<tag>`, in the order versions became active. */
  annotations: string[];
  tags: Map<string, string>;
  changelogs: { service: string; tag: string; previousTag?: string }[];
  hotfixes: { service: string; branch: string; fromTag: string; picks: string[] }[];
  /** Freeze windows the ledgers are configured with. */
  freezeWindows?: FreezeWindow[];
  /** Pull requests that are merged, so can be reverted; reverts opened, in order. */
  merged: Set<number>;
  reverts: number[];
  running: Record<EnvironmentName, string | null>;
  /** The default branch's head (what a cut without a ref tags). */
  head: string;
  /** How `head` relates to `base`; default: identical when equal, else `ahead` (a history that only moves forward). */
  compare: (base: string, head: string) => CommitRelation;
  /** Decides each deploy: return normally to succeed (with the step's result, if not the usual), throw to fail. */
  onDeploy: (req: DeployRequest, attempt: number) => Promise<void | DeployOutcome>;
  onCheck: (req: CheckRequest) => CheckOutcome;
}

export function policy(overrides: Partial<TrainPolicy> = {}): TrainPolicy {
  return {
    service: 'api',
    tagFormat: '{service}/v{yyyy}.{MM}.{dd}.{n}',
    release: { timeZone: 'America/New_York', days: ['mon', 'tue', 'wed', 'thu'], time: '11:00', minLeadHours: 12 },
    decisionDeadlineHours: 72,
    hasE2E: true,
    smoke: { staging: true, production: true },
    ...overrides,
  };
}

export function fakeWorld(): FakeWorld {
  return {
    deploys: [],
    checks: [],
    notifications: [],
    annotations: [],
    tags: new Map(),
    changelogs: [],
    hotfixes: [],
    merged: new Set([7]),
    reverts: [],
    running: { staging: null, production: 'api/v2024.09.30.1' },
    head: 'c0ffee0000000000000000000000000000000001',
    compare: (base, head) => (base === head ? 'identical' : 'ahead'),
    onDeploy: async () => undefined,
    onCheck: () => ({ passed: true, summary: 'ok' }),
  };
}

/** Blocks like a long deploy until the activity is cancelled (heartbeats deliver the cancellation). */
export async function hangUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
}

/**
 * Messages between workflows go through the worker's real activities (`signalLedger`,
 * `supersedeTrain`), so trains, cuts and the real ledger workflow are tested together.
 */
export function fakeActivities(world: FakeWorld, trainPolicy: TrainPolicy, client: Client, taskQueue: string): TrainActivities {
  // What the worker's config gives a ledger.
  const ledgerConfig = () => ({ ...(trainPolicy.operators ? { operators: trainPolicy.operators } : {}), ...(world.freezeWindows ? { freezeWindows: world.freezeWindows, timeZone: 'UTC' } : {}) });
  // Errors cross the boundary as the worker's do: through the one translation point.
  return translated<TrainActivities>({
    signalLedger: ledgerSignaller(client, taskQueue, ledgerConfig),
    async ledgerConfig() {
      return ledgerConfig();
    },
    async revertChange({ pr }) {
      if (!world.merged.has(pr)) throw ApplicationFailure.nonRetryable(`pull request #${pr} is not merged, so there is nothing to revert`, 'FORGE_CONFLICT');
      world.reverts.push(pr);
      return { number: 100 + pr, url: `file:///changes/${100 + pr}` };
    },
    controlCutSchedule: cutScheduleController(client),
    supersedeTrain: trainSuperseder(client),
    workflowRunning: workflowWatcher(client),
    activeTrains: activeTrainFinder(client),
    pauseCutSchedule: schedulePauser(client),
    startRollback: rollbackStarter(client, taskQueue),
    async prepareHotfix(req) {
      world.hotfixes.push(req);
      return 'h0tf1x0000000000000000000000000000000002';
    },
    async publishChangelog(req) {
      // As the real one (activities/changelog.ts): a base a person named must be a tag.
      if (req.previousTag !== undefined && !world.tags.has(req.previousTag)) {
        throw new TrainyardError('REF_NOT_FOUND', `the previous tag "${req.previousTag}" is not a tag of ${req.service}'s repository`, `Its newest release tags: ${[...world.tags.keys()].join(', ')}`);
      }
      world.changelogs.push(req);
      return { url: `file:///releases/${req.tag}.md`, commits: 3, truncated: false, ...(req.previousTag ? { fromTag: req.previousTag } : {}) };
    },
    async trainPolicy() {
      return trainPolicy;
    },
    async resolveCommit({ ref }) {
      return ref && world.tags.has(ref) ? world.tags.get(ref)! : world.head;
    },
    async compareCommits({ base, head }) {
      return world.compare(base, head);
    },
    async listReleaseTags() {
      return [...world.tags.keys()];
    },
    async createReleaseTag({ tag, commit }) {
      const existing = world.tags.get(tag);
      if (existing && existing !== commit) throw ApplicationFailure.nonRetryable(`tag ${tag} exists at ${existing}`, 'TAG_CONFLICT');
      world.tags.set(tag, commit);
      return { created: !existing };
    },
    async deploy(req) {
      const result = await world.onDeploy(req, Context.current().info.attempt);
      world.deploys.push(req);
      world.running[req.environment] = req.tag;
      return result ?? { summary: `deployed ${req.tag}` };
    },
    async runCheck(req) {
      world.checks.push(req);
      return world.onCheck(req);
    },
    async readDeployedVersion({ environment }) {
      return world.running[environment];
    },
    async notify(note) {
      world.notifications.push(note);
    },
    async annotate(req) {
      world.annotations.push(`${req.environment}:${req.tag}`);
    },
  });
}
