/**
 * The version bump's side effects, each a short forge call (the workflow waits between them with
 * durable timers). Built from a forge per name (the component's or the consumer's) and a notify
 * function; errors cross the boundary translated by `translated` (activities/index.ts).
 *
 * Every write is idempotent: the request is found by its branch and updated, the file commit is a
 * no-op when the content is already there, labels are added, closing a closed one is success.
 */
import {
  branchOf,
  bumpBody,
  versionFileContent,
  versionIn,
  writtenVersionOf,
  type BumpEvent,
  type BumpPlan,
  type BumpRequestView,
  type PipelineView,
} from '../domain/version-bump.js';
import { TrainyardError } from '../domain/errors.js';
import type { ChangeRequest, Forge, PipelineRun } from './forge/forge.js';
import { translated } from './index.js';

/** The forge methods a bump uses: every Forge has them, and test forges need no more. */
export type BumpForge = Pick<
  Forge,
  | 'defaultBranch'
  | 'resolveRef'
  | 'commitState'
  | 'latestGreenCommit'
  | 'commitsBetween'
  | 'readFile'
  | 'createBranch'
  | 'commitFile'
  | 'openChangeRequest'
  | 'findOpenChangeRequest'
  | 'getChangeRequest'
  | 'addLabels'
  | 'comment'
  | 'closeChangeRequest'
  | 'mergeWhenGreen'
  | 'latestPipeline'
  | 'retryPipeline'
>;

/** A notification about a bump; `team` ones go to the component's team (failures), others to progress. */
export interface BumpNote {
  bumpId: string;
  component: string;
  consumer: string;
  event: BumpEvent;
  audience: 'progress' | 'team';
  text: string;
  link?: string;
}

export interface VersionBumpDeps {
  /** The forge of a component or consumer, by its name in the config. */
  forgeFor(name: string): BumpForge;
  notify(note: BumpNote): Promise<void>;
}

/** How many generations of the request's branch a fresh run looks through for an open request. */
export const GENERATIONS_PROBED = 5;

export interface Survey {
  /** The component's latest green commit. */
  green?: string;
  /** The version on the consumer's default branch. */
  current?: string;
  /** An open bump request left by an earlier run, and its generation. */
  open?: { view: BumpRequestView; generation: number; fileVersion?: string };
}

export interface Inspection {
  state: ChangeRequest['state'];
  headSha: string;
  labels: string[];
  /** The head's pipeline; undefined while none ran for the head yet. */
  pipeline?: PipelineView;
  /** The version the file on the request's branch holds now. */
  fileVersion?: string;
}

function viewOf(change: ChangeRequest, wrote: string): BumpRequestView {
  return { number: change.number, url: change.url, branch: change.sourceBranch, createdAt: change.createdAt, wrote };
}

function pipelineView(run: PipelineRun): PipelineView {
  return { id: run.id, url: run.url, status: run.status, ...(run.failedJobs?.length ? { failedJobs: run.failedJobs } : {}) };
}

/** The commits a bump brings; none listed when the old version is not a commit of the component (a tag name, a typo). */
async function commitsOrNone(component: BumpForge, from: string, to: string, limit: number): ReturnType<Forge['commitsBetween']> {
  try {
    return await component.commitsBetween(from, to, limit);
  } catch (err) {
    if (err instanceof TrainyardError && (err.code === 'REF_NOT_FOUND' || err.code === 'INVALID_REF')) return { entries: [], truncated: false };
    throw err;
  }
}

export function createVersionBumpActivities(deps: VersionBumpDeps) {
  const consumerOf = (plan: BumpPlan) => deps.forgeFor(plan.consumer);

  async function findOpen(plan: BumpPlan, generations: number[]): Promise<Survey['open']> {
    const forge = consumerOf(plan);
    for (const generation of generations) {
      const change = await forge.findOpenChangeRequest(branchOf(plan, generation), forge.defaultBranch);
      if (!change) continue;
      const fileVersion = versionIn(await forge.readFile(plan.versionFile, change.headSha));
      const wrote = writtenVersionOf(change.body) ?? fileVersion ?? '';
      return { view: viewOf(change, wrote), generation, ...(fileVersion ? { fileVersion } : {}) };
    }
    return undefined;
  }

  return translated({
    /** Where things stand: the component's green commit, the consumer's version, an open request. */
    async bumpSurvey(req: { plan: BumpPlan; generations?: number[] }): Promise<Survey> {
      const { plan } = req;
      const component = deps.forgeFor(plan.component);
      const consumer = consumerOf(plan);
      const green = await component.latestGreenCommit(component.defaultBranch, plan.lookback);
      const current = versionIn(await consumer.readFile(plan.versionFile, consumer.defaultBranch));
      const generations = req.generations ?? Array.from({ length: GENERATIONS_PROBED }, (_, g) => g);
      const open = await findOpen(plan, generations);
      return { ...(green ? { green } : {}), ...(current ? { current } : {}), ...(open ? { open } : {}) };
    },

    /**
     * Opens the bump request of `generation`, or updates the open one: the file gets `version`
     * unless a person wrote another version into it (`keepManual`), and the body lists the commits.
     */
    async bumpPrepareRequest(req: { plan: BumpPlan; generation: number; version: string; from?: string; keepManual?: string }): Promise<BumpRequestView> {
      const { plan, version } = req;
      const consumer = consumerOf(plan);
      const branch = branchOf(plan, req.generation);
      await consumer.createBranch(branch, consumer.defaultBranch);
      if (!req.keepManual) {
        await consumer.commitFile({ branch, path: plan.versionFile, content: versionFileContent(version), message: `${plan.title}\n\n${plan.component} ${version}` });
      }
      const component = deps.forgeFor(plan.component);
      const { entries, truncated } = req.from && req.from !== version ? await commitsOrNone(component, req.from, version, plan.commitLimit) : { entries: [], truncated: false };
      const body = bumpBody({ component: plan.component, to: version, commits: entries, truncated, ...(req.from ? { from: req.from } : {}), ...(plan.compareUrl ? { compareUrl: plan.compareUrl } : {}) });
      const { change } = await consumer.openChangeRequest({ sourceBranch: branch, targetBranch: consumer.defaultBranch, title: plan.title, body, labels: plan.labels });
      return viewOf(change, version);
    },

    /** The request, its head's pipeline and the version its file holds. */
    async bumpInspect(req: { plan: BumpPlan; number: number }): Promise<Inspection> {
      const consumer = consumerOf(req.plan);
      const change = await consumer.getChangeRequest(req.number);
      const run = await consumer.latestPipeline(change.sourceBranch);
      // A pipeline of an earlier head says nothing about this one.
      const pipeline = run && run.sha === change.headSha ? pipelineView(run) : undefined;
      const fileVersion = versionIn(await consumer.readFile(req.plan.versionFile, change.headSha));
      return { state: change.state, headSha: change.headSha, labels: change.labels, ...(pipeline ? { pipeline } : {}), ...(fileVersion ? { fileVersion } : {}) };
    },

    async bumpRetryPipeline(req: { plan: BumpPlan; pipelineId: string }): Promise<PipelineView> {
      return pipelineView(await consumerOf(req.plan).retryPipeline(req.pipelineId));
    },

    async bumpMerge(req: { plan: BumpPlan; number: number }): Promise<{ state: 'merged' | 'scheduled' | 'blocked'; mergeCommit?: string }> {
      return consumerOf(req.plan).mergeWhenGreen(req.number);
    },

    /** CI state of the consumer's default branch head: `failure` is a broken master. */
    async bumpMasterState(req: { plan: BumpPlan }): Promise<string> {
      const consumer = consumerOf(req.plan);
      return consumer.commitState(await consumer.resolveRef(consumer.defaultBranch));
    },

    async bumpLabel(req: { plan: BumpPlan; number: number; labels: string[]; comment?: string }): Promise<void> {
      const consumer = consumerOf(req.plan);
      await consumer.addLabels(req.number, req.labels);
      if (req.comment) await consumer.comment(req.number, req.comment);
    },

    async bumpClose(req: { plan: BumpPlan; number: number; comment: string }): Promise<void> {
      const consumer = consumerOf(req.plan);
      // Closing first: a retry after the comment then only comments again on a closed request.
      await consumer.closeChangeRequest(req.number);
      await consumer.comment(req.number, req.comment);
    },

    async bumpNotify(note: BumpNote): Promise<void> {
      await deps.notify(note);
    },
  });
}

export type VersionBumpActivities = ReturnType<typeof createVersionBumpActivities>;
