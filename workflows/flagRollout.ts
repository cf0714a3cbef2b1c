/**
 * One feature flag's rollout (`flag/<name>`): acceptance testing environment by environment, a
 * maintainer's approval for Opt-in, release boundaries (durable timers) for Opt-out and Mandatory,
 * and the clean-up merge request. Long-lived: continues-as-new with its plain-JSON state.
 *
 * Decisions are pure functions in domain/flag-rollout.ts. Handlers only change the state; the main
 * loop makes the drivers agree with it (`flagChanges`), so a breach, a stage rollback and an abort
 * all turn the flag off the same way.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { FlagActivities, FlagEvent } from '../activities/flag-rollout.js';
import { NON_RETRYABLE_CODES } from '../domain/errors.js';
import {
  applyBoundaries,
  evaluateSoak,
  flagChanges,
  initialFlagState,
  nextStep,
  recordSoak,
  startSoak,
  type FlagPlan,
  type FlagState,
} from '../domain/flag-rollout.js';
import {
  abortProblem,
  advanceProblem,
  applyAbort,
  applyAdvance,
  applyApprove,
  applyPause,
  applyResume,
  applyRollbackStage,
  approveProblem,
  pauseProblem,
  resumeProblem,
  rollbackStageProblem,
  type FlagRequest,
} from '../domain/flag-requests.js';
import { abortFlagUpdate, advanceFlagUpdate, approveFlagUpdate, flagStatusQuery, pauseFlagUpdate, resumeFlagUpdate, rollbackStageFlagUpdate } from './flag-messages.js';
import { rejectIf } from './rejections.js';

export interface FlagRolloutInput {
  flag: string;
  startedBy: string;
  /** Carried across continue-as-new (with the plan it was built from). */
  state?: FlagState;
  plan?: FlagPlan;
  /** Continue-as-new after this many history events (tests set it low). */
  maxHistoryEvents?: number;
}

const nonRetryableErrorTypes = [...NON_RETRYABLE_CODES];
const DEFAULT_MAX_HISTORY_EVENTS = 2_000;

/** Driver calls and the clean-up: retried for about ten minutes, then the rollout waits for a person. */
const drivers = proxyActivities<FlagActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes },
});
/** The soak: as long as a soak may be (a week), heartbeating; a killed worker's attempt resumes from its samples. */
const soaking = proxyActivities<FlagActivities>({
  startToCloseTimeout: '8 days',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5, nonRetryableErrorTypes },
});
/** Notifications: a few quick tries; a failure is logged, never blocks the rollout. Regular activities (sent from handlers too). */
const notifier = proxyActivities<FlagActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4 },
});

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export async function flagRollout(input: FlagRolloutInput): Promise<FlagState> {
  /**
   * Marked in the first workflow task: a request accepted while the drivers were being set or a
   * status was told (an abort, an advance that lifts a block) is acted on before the next step;
   * before, the rollout went on as if it had not come (ended with the flag on, soaked with it off).
   * Runs started before replay without it.
   */
  const reconcilesAfterRequests = patched('reconcile-after-requests');
  // Handlers are registered before the first await, so a query or update never finds none; until
  // the plan is read (one activity at the start), validators refuse and the query says so.
  let plan = input.plan;
  let state: FlagState = input.state ?? { ...initialFlagState({ flag: input.flag, maintainers: [], operators: [], environments: [], links: {} }, input.startedBy, Date.now()), waitingFor: 'the flag\'s config (starting)' };
  let changed = false;
  /** Counts operator requests, so the loop can tell one came while it was busy. */
  let requests = 0;
  /** The running soak, cancelled by an abort or a stage rollback. */
  let soakScope: CancellationScope | undefined;
  const touch = () => {
    changed = true;
    requests++;
  };

  async function tell(event: FlagEvent, text: string): Promise<void> {
    try {
      await notifier.notifyFlag({ flag: state.flag, event, text });
    } catch (err) {
      log.warn('notification failed', { event, error: String(err) });
    }
  }

  setHandler(flagStatusQuery, () => state);
  function operatorUpdate<R extends FlagRequest>(
    update: UpdateDefinition<FlagState, [R]>,
    problem: (s: FlagState, p: FlagPlan, r: R) => string | undefined,
    apply: (s: FlagState, r: R, now: number) => void,
    verb: string,
  ): void {
    setHandler(
      update,
      async (req: R) => {
        apply(state, req, Date.now());
        if (state.ended === 'aborted') soakScope?.cancel();
        touch();
        await tell('operator-action', `${req.by} ${verb} ${state.flag} (now ${state.status}): ${req.reason}`);
        return state;
      },
      { validator: (req: R) => rejectIf(plan ? problem(state, plan, req) : `the rollout of ${input.flag} is starting; try again in a moment`) },
    );
  }
  operatorUpdate(approveFlagUpdate, approveProblem, applyApprove, 'approved Opt-in of');
  operatorUpdate(advanceFlagUpdate, advanceProblem, applyAdvance, 'advanced');
  operatorUpdate(pauseFlagUpdate, pauseProblem, applyPause, 'paused');
  operatorUpdate(resumeFlagUpdate, resumeProblem, applyResume, 'resumed');
  operatorUpdate(rollbackStageFlagUpdate, rollbackStageProblem, applyRollbackStage, 'rolled back a stage of');
  operatorUpdate(abortFlagUpdate, abortProblem, applyAbort, 'aborted the rollout of');
  if (!plan) {
    plan = await drivers.flagPlan({ flag: input.flag });
    state = initialFlagState(plan, input.startedBy, Date.now());
  }
  const knownPlan = plan;

  /** Makes every environment's flag agree with the state; a driver that keeps failing blocks the rollout. */
  async function reconcile(): Promise<void> {
    for (const { environment, enabled } of flagChanges(state)) {
      try {
        await drivers.setFlag.executeWithOptions({ summary: `Turn ${state.flag} ${enabled ? 'on' : 'off'} in ${environment}` }, [{ flag: state.flag, environment, enabled }]);
      } catch (err) {
        const error = failureMessage(err);
        if (state.ended === 'aborted') {
          // Nobody is left to retry: say so loudly and go on with the other environments.
          await tell('blocked', `ABORT INCOMPLETE: could not turn ${state.flag} off in ${environment}: ${error}. Turn it off by hand.`);
          continue;
        }
        state.blocked = { environment, error };
        await tell('blocked', `Could not turn ${state.flag} ${enabled ? 'on' : 'off'} in ${environment}: ${error}. Waiting for advance (retry) or abort.`);
        return;
      }
      const env = state.environments.find((e) => e.name === environment);
      if (env) env.enabled = enabled;
    }
  }

  async function soak(environment: string, threshold: number): Promise<void> {
    soakScope = new CancellationScope();
    let verdict;
    let samples = 0;
    try {
      const reading = await soakScope.run(() =>
        soaking.measureHealth.executeWithOptions({ summary: `Soak ${state.flag} in ${environment}` }, [{ flag: state.flag, environment, mode: 'soak' }]),
      );
      samples = reading.samples.length;
      verdict = evaluateSoak(reading, threshold);
    } catch (err) {
      // Abort and stage rollback cancel the soak; they have already changed the state.
      if (isCancellation(err)) return;
      verdict = { passed: false, why: `the health check failed: ${failureMessage(err)}` };
    } finally {
      soakScope = undefined;
    }
    if (state.ended || state.status !== 'ready-for-testing') return;
    recordSoak(state, environment, verdict, samples, Date.now());
    if (verdict.passed) {
      await reconcile();
      await tell('tested', `${state.flag} passed acceptance testing in ${environment}: ${verdict.why}.`);
    } else {
      await reconcile();
      await tell('rolled-back', `${state.flag} failed acceptance testing in ${environment} (${verdict.why}); the flag was turned off there. Waiting for advance (test again) or abort.`);
    }
  }

  async function baseline(environment: string): Promise<void> {
    let before: number | undefined;
    try {
      before = (await drivers.measureHealth.executeWithOptions({ summary: `Error rate of ${environment} before ${state.flag}` }, [{ flag: state.flag, environment, mode: 'baseline' }])).samples[0];
    } catch (err) {
      log.warn('baseline measurement failed; soaking without one', { environment, error: failureMessage(err) });
    }
    const by = state.actions.filter((a) => a.kind === 'advance' || a.kind === 'start').at(-1)?.by ?? state.startedBy;
    startSoak(state, environment, before, by, Date.now());
  }

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  /** The status people were last told about (a boundary or an operator moved it since). */
  let toldStatus = state.status;
  for (;;) {
    const requestsBefore = requests;
    applyBoundaries(state, Date.now());
    await reconcile();
    if (toldStatus !== state.status) {
      const last = state.transitions.at(-1);
      toldStatus = state.status;
      await tell('status', `${state.flag} is now ${state.status}${last ? ` (${last.by}: ${last.reason})` : ''}.`);
    }
    // A request came while the drivers were set or the status told: the drivers must agree with
    // it before the next step. Going round again is what waking for it would do.
    if (reconcilesAfterRequests && requests !== requestsBefore) {
      changed = false;
      continue;
    }
    const step = nextStep(state);
    state.waitingFor = step.kind === 'wait' ? step.why : undefined;
    if (step.kind === 'end') break;
    if (step.kind === 'baseline') await baseline(step.environment);
    else if (step.kind === 'soak') await soak(step.environment, step.threshold);
    else if (step.kind === 'cleanup') await cleanup();
    else {
      // Never `condition(fn, 0)`: a boundary already reached was applied above.
      const timeout = step.until !== undefined ? Math.max(1, step.until - Date.now()) : undefined;
      await condition(() => changed, timeout);
      changed = false;
      state.waitingFor = undefined;
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > maxEvents) {
      await condition(allHandlersFinished);
      state.runs += 1;
      await continueAsNew<typeof flagRollout>({ ...input, plan: knownPlan, state });
    }
  }
  if (state.ended === 'aborted') await tell('aborted', `The rollout of ${state.flag} was aborted; the flag is off everywhere.`);
  else {
    state.ended = 'done';
    await tell('done', `${state.flag} is Mandatory; clean-up merge request: ${state.cleanup?.url ?? '(none)'}.`);
  }
  state.waitingFor = undefined;
  await condition(allHandlersFinished);
  return state;

  async function cleanup(): Promise<void> {
    try {
      const mr = await drivers.openCleanupRequest.executeWithOptions({ summary: `Open the merge request removing ${state.flag}` }, [{ flag: state.flag }]);
      state.cleanup = { url: mr.url, number: mr.number };
      await tell('cleanup', `Opened the clean-up merge request for ${state.flag}: ${mr.url}`);
    } catch (err) {
      state.blocked = { environment: 'clean-up', error: failureMessage(err) };
      await tell('blocked', `Could not open the clean-up merge request of ${state.flag}: ${state.blocked.error}. Waiting for advance (retry) or abort.`);
    }
  }
}
