/**
 * The 1-click deploy of a pre-release whose gate is open: mark it as the latest release, deploy it to
 * production through the environment ledger (one deploy at a time; a freeze defers it), run the
 * post-deploy sanity check (the production smoke check, e.g. an `http` error-rate endpoint) and roll
 * back to the ledger's previous verified version when it fails, as a release train does.
 */
import { isCancellation, log } from '@temporalio/workflow';
import type { TrainEvent } from '../activities/types.js';
import type { DeploymentOutcome, DeploymentRecord } from '../domain/ledger.js';
import type { PreReleaseInput } from './preRelease.js';
import type { PreReleaseStage, PreReleaseStatus } from '../domain/prerelease.js';
import type { OperatorRequest } from '../domain/train.js';
import { forge, longRunning, step } from './activity-options.js';
import { LedgerLink, type LockGrant } from './train-ledger.js';
import { prForge, failureMessage } from './preRelease.js';

/** What the deploy needs of the pre-release workflow. */
export interface ProductionDeps {
  readonly input: PreReleaseInput;
  readonly status: PreReleaseStatus;
  readonly deployment?: OperatorRequest;
  notes(): string;
  enter(stage: PreReleaseStage, waitingFor?: string): void;
  tell(event: TrainEvent, text: string): Promise<void>;
  fail(why: string): Promise<void>;
}

export async function deployPreRelease(d: ProductionDeps): Promise<void> {
  const { service, tag, policy } = d.input;
  const by = d.deployment?.by ?? d.input.startedBy;
  await d.tell('promoted', `${by} deploys ${tag} to production: ${d.deployment?.reason ?? ''}`);
  try {
    await prForge.publishPreRelease.executeWithOptions({ summary: `Mark ${tag} as the latest release` }, [
      { service, tag, name: tag, notes: d.notes(), prerelease: false, latest: true },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await d.fail(`could not mark ${tag} as the latest release: ${failureMessage(err)}`);
    return;
  }
  const ledgers = new LedgerLink({ service, tag, ...(policy.operators ? { policy: { operators: policy.operators } } : {}) }, d.status.workflowId, {});
  await ledgers.withLock('production', false, (why) => d.enter('awaiting-lock', why), (grant) => promote(d, ledgers, grant, by));
}

async function promote(d: ProductionDeps, ledgers: LedgerLink, grant: LockGrant, by: string): Promise<DeploymentRecord[]> {
  const { service, tag, commit } = d.input;
  const record = (t: string, c: string, outcome: DeploymentOutcome): DeploymentRecord => ({ tag: t, commit: c, outcome, trainId: d.status.workflowId, at: Date.now(), by });
  const previous = grant.stable ?? (await deployedInProduction(d));
  if (previous) d.status.versions.previousProduction = previous.tag;
  d.enter('production');
  try {
    await longRunning.deploy.executeWithOptions(step(`Deploy ${tag} to production`, d.input.policy), [{ service, environment: 'production', tag, commit, trainId: d.status.workflowId }]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await d.fail(`deploy of ${tag} to production failed: ${failureMessage(err)}`);
    return [record(tag, commit, 'failed')];
  }
  d.status.versions.production = tag;
  await d.tell('deployed', `Deployed ${tag} to production.`);
  if (await sane(d)) {
    d.enter('released');
    await d.tell('released', `${tag} is live in production and marked as the latest release.`);
    return [record(tag, commit, 'verified')];
  }
  return [record(tag, commit, 'rolled-back'), ...(await rollBack(d, ledgers, previous, record))];
}

/** Without a ledger record (the service's first deploy through Trainyard): what production reports running. */
async function deployedInProduction(d: ProductionDeps): Promise<{ tag: string; commit: string } | undefined> {
  const { service, tag } = d.input;
  const running = await forge.readDeployedVersion.executeWithOptions({ summary: 'Read the version running in production' }, [{ service, environment: 'production' }]);
  if (!running || running === tag) return undefined;
  const commit = await forge.resolveCommit.executeWithOptions({ summary: `Resolve ${running}` }, [{ service, ref: running }]);
  return { tag: running, commit };
}

/** The post-deploy sanity check: production's smoke check, when the service has one. */
async function sane(d: ProductionDeps): Promise<boolean> {
  const { service, tag, commit, policy } = d.input;
  if (!policy.smoke) return true;
  const check = await longRunning.runCheck.executeWithOptions(step(`Sanity check of ${tag} in production`, d.input.policy), [
    { service, check: 'smoke', environment: 'production', tag, commit, trainId: d.status.workflowId },
  ]);
  if (!check.passed) await d.tell('check-failed', `Sanity check of ${tag} in production failed: ${check.summary}`);
  return check.passed;
}

async function rollBack(
  d: ProductionDeps,
  ledgers: LedgerLink,
  previous: LockGrant['stable'],
  record: (tag: string, commit: string, outcome: DeploymentOutcome) => DeploymentRecord,
): Promise<DeploymentRecord[]> {
  const { service, tag } = d.input;
  if (!previous) {
    await d.fail(`the sanity check of ${tag} in production failed and there is no previous verified version to roll back to`);
    return [];
  }
  d.enter('rolling-back', `to ${previous.tag}`);
  try {
    await longRunning.deploy.executeWithOptions(step(`Roll production back to ${previous.tag}`, d.input.policy), [
      { service, environment: 'production', tag: previous.tag, commit: previous.commit, trainId: d.status.workflowId },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await ledgers.freezeForIncident('production', `rollback of ${tag} to ${previous.tag} failed; check production, then unfreeze`);
    await d.fail(`ROLLBACK FAILED: rolling back to ${previous.tag} failed (${failureMessage(err)}); production is frozen until someone unfreezes it`);
    return [];
  }
  d.status.versions.production = previous.tag;
  await restoreLatest(d, previous.tag);
  d.enter('rolled-back');
  await d.tell('rolled-back', `Sanity check of ${tag} in production failed; rolled back to ${previous.tag}.`);
  return [record(previous.tag, previous.commit, 'verified')];
}

/** The forge's "latest release" should name what runs: best effort, never fatal. */
async function restoreLatest(d: ProductionDeps, tag: string): Promise<void> {
  try {
    await prForge.restoreLatest.executeWithOptions({ summary: `Mark ${tag} as the latest release again` }, [{ service: d.input.service, tag }]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('could not mark the rollback target as the latest release', { tag, error: failureMessage(err) });
  }
}
