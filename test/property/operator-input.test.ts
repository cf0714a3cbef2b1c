/**
 * Operator reasons and identities under hostile input, through the validators every operator update
 * runs before anything is written to history (domain/train.ts; the ledger's freeze and unfreeze use
 * requestProblem too; its cut, revert and cut-schedule updates are domain/service-actions.ts). Oversized text is rejected with a clear message that does not echo it; what
 * is accepted is bounded far below Temporal's 2 MiB payload limit.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { configure, initialLedger, type LedgerState } from '../../domain/ledger.js';
import { cutProblem, cutScheduleProblem, revertProblem } from '../../domain/service-actions.js';
import { MAX_TAG_LENGTH } from '../../domain/tags.js';
import {
  abortProblem,
  initialStatus,
  MAX_OPERATOR_LENGTH,
  MAX_REASON_LENGTH,
  promoteProblem,
  regenerateChangelogProblem,
  requestProblem,
  rerunE2EProblem,
  retryDeployProblem,
  supersedeProblem,
  type TrainPolicy,
  type TrainStatus,
} from '../../domain/train.js';
import { check, count, nasty, printTally, refLike, sized, textAround } from './arbitraries.js';

afterAll(printTally);

const TEMPORAL_PAYLOAD_LIMIT = 2 * 1024 * 1024;
/**
 * The most an accepted request can weigh as JSON: every character of `by` and `reason` a control
 * character (6 bytes escaped, "\u0000"), a 200-character tag of 3-byte characters, plus the keys.
 */
const ACCEPTED_REQUEST_BOUND = 6 * (MAX_OPERATOR_LENGTH + MAX_REASON_LENGTH) + 3 * MAX_TAG_LENGTH + 200;

const policy = (operators: boolean): TrainPolicy => ({
  service: 'api',
  tagFormat: '{service}/v{yyyy}.{MM}.{dd}.{n}',
  release: { timeZone: 'UTC', days: ['mon'], time: '11:00', minLeadHours: 12 },
  decisionDeadlineHours: 72,
  hasE2E: true,
  smoke: { staging: true, production: true },
  ...(operators ? { operators: [{ name: 'alice', rights: ['start', 'hotfix', 'promote', 'abort', 'freeze', 'override-freeze', 'rollback', 'revert'] }] } : {}),
});

/** The production ledger of the service, having read the same operators. */
function productionLedger(operators: boolean): LedgerState {
  const state = initialLedger('api', 'production');
  const { operators: list } = policy(operators);
  configure(state, list ? { operators: list } : {});
  return state;
}

/** Each validator with a train in the state where it can say yes. */
function trainIn(kind: 'decision' | 'failed-deploy'): TrainStatus {
  const status = initialStatus('train/api/api/v2024.10.02.1', {
    service: 'api',
    tag: 'api/v2024.10.02.1',
    commit: 'c0ffee',
    policy: policy(false),
    startedBy: 'schedule',
    releaseAt: 0,
  });
  status.stage = kind === 'decision' ? 'awaiting-decision' : 'staging';
  if (kind === 'decision') status.e2e = { passed: false, summary: 'failed' };
  else status.failedDeploy = { environment: 'staging', error: 'exhausted' };
  return status;
}

type Validator = (req: never, operators: boolean) => string | undefined;
const VALIDATORS: Record<string, Validator> = {
  requestProblem: (req) => requestProblem(req),
  promote: (req, ops) => promoteProblem(trainIn('decision'), policy(ops), req),
  abort: (req, ops) => abortProblem(trainIn('decision'), policy(ops), req),
  retryDeploy: (req, ops) => retryDeployProblem(trainIn('failed-deploy'), policy(ops), req),
  rerunE2E: (req, ops) => rerunE2EProblem(trainIn('decision'), policy(ops), req),
  regenerateChangelog: (req, ops) => regenerateChangelogProblem(trainIn('decision'), policy(ops), req),
  supersede: (req, ops) => supersedeProblem(trainIn('decision'), policy(ops), req),
  cut: (req, ops) => cutProblem(productionLedger(ops), req),
  revert: (req, ops) => revertProblem(productionLedger(ops), req),
  cutSchedule: (req, ops) => cutScheduleProblem(productionLedger(ops), req, 0),
};
const validatorName = fc.constantFrom(...Object.keys(VALIDATORS));
const run = (name: string, req: unknown, operators: boolean) => VALIDATORS[name]!(req as never, operators);

/** Requests of the right shape with hostile text in every field. */
const request = fc.record(
  {
    by: fc.oneof({ weight: 2, arbitrary: fc.constant('alice') }, { weight: 3, arbitrary: textAround(MAX_OPERATOR_LENGTH) }),
    reason: textAround(MAX_REASON_LENGTH),
    overrideFreeze: fc.boolean(),
    previousTag: fc.oneof(refLike, sized(refLike, MAX_TAG_LENGTH - 2, 2_000_000)),
    newTag: fc.oneof(fc.constant('api/v2024.10.02.2'), refLike, sized(refLike, MAX_TAG_LENGTH - 2, 2_000_000)),
  },
  // newTag is always there: supersede without one is a junk request (see the known gap below).
  { requiredKeys: ['by', 'reason', 'newTag'] },
);

/** Anything at all where a request should be, and requests whose fields have the wrong types. */
const junk = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.record(
    {
      // Mostly valid, so the checks behind them are reached too.
      by: fc.oneof(fc.constant('alice'), fc.anything({ maxDepth: 1 })),
      reason: fc.oneof(fc.constant('why'), fc.anything({ maxDepth: 1 })),
      overrideFreeze: fc.anything({ maxDepth: 1 }),
      previousTag: fc.anything({ maxDepth: 1 }),
      newTag: fc.anything({ maxDepth: 1 }),
      // The service actions' fields, nested ones included.
      prs: fc.oneof(fc.constant([7]), fc.anything({ maxDepth: 2 })),
      action: fc.oneof(fc.constant('pause'), fc.anything({ maxDepth: 1 })),
      hotfix: fc.oneof(fc.constant({ fromTag: 'api/v1.1', picks: ['abc1234'] }), fc.record({ fromTag: fc.anything({ maxDepth: 1 }), picks: fc.anything({ maxDepth: 2 }) }), fc.anything({ maxDepth: 2 })),
      supersedes: fc.oneof(fc.constant({ trainId: 'train/api/api/v1.1', tag: 'api/v1.1' }), fc.anything({ maxDepth: 2 })),
    },
    { requiredKeys: [] },
  ),
);

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

describe('operator reasons and identities', () => {
  it('oversized text is rejected with a clear message that does not echo it', () => {
    check('operator input', 800, validatorName, request, fc.boolean(), (name, req, operators) => {
      const problem = run(name, req, operators);
      const by = req.by.trim() === '' ? undefined : req.by;
      if (by !== undefined && by.length > MAX_OPERATOR_LENGTH) {
        expect(problem).toBe(`operator name is longer than ${MAX_OPERATOR_LENGTH} characters`);
      } else if (by !== undefined && req.reason.trim() !== '' && req.reason.length > MAX_REASON_LENGTH) {
        expect(problem).toBe(`reason is longer than ${MAX_REASON_LENGTH} characters; link to a document instead`);
      }
      if (problem !== undefined) {
        // Tags are quoted at most 80 characters long and names only once bounded: the message stays small.
        expect(problem.length).toBeLessThan(MAX_OPERATOR_LENGTH + 300);
      }
    });
  });

  it('what a validator accepts is bounded (and shell syntax in it is just text)', () => {
    check('operator input', 800, validatorName, request, fc.boolean(), (name, req, operators) => {
      if (run(name, req, operators) !== undefined) return;
      expect(req.by.length).toBeLessThanOrEqual(MAX_OPERATOR_LENGTH);
      expect(req.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
      const used = { by: req.by, reason: req.reason, overrideFreeze: req.overrideFreeze, ...(name === 'regenerateChangelog' ? { previousTag: req.previousTag } : {}), ...(name === 'supersede' ? { newTag: req.newTag } : {}) };
      expect(jsonBytes(used)).toBeLessThanOrEqual(ACCEPTED_REQUEST_BOUND);
      // requestProblem checks the shape only; every train validator also checks the allow-list.
      if (operators && name !== 'requestProblem') expect(req.by).toBe('alice');
    });
  });

  it('the worst accepted request is ~13 KB of JSON, far below the 2 MiB payload limit', () => {
    const worst = { by: '\u0000'.repeat(MAX_OPERATOR_LENGTH), reason: '\u0001'.repeat(MAX_REASON_LENGTH), previousTag: 'é'.repeat(MAX_TAG_LENGTH) };
    expect(regenerateChangelogProblem(trainIn('decision'), policy(false), worst)).toBeUndefined();
    expect(jsonBytes(worst)).toBeLessThanOrEqual(ACCEPTED_REQUEST_BOUND);
    expect(ACCEPTED_REQUEST_BOUND).toBeLessThan(TEMPORAL_PAYLOAD_LIMIT / 100);
    const oneOver = { ...worst, reason: `${worst.reason}x` };
    expect(regenerateChangelogProblem(trainIn('decision'), policy(false), oneOver)).toMatch(/reason is longer than 2000/);
    count('operator input', 2);
  });

  it('multi-megabyte reasons and names of shell syntax are refused', () => {
    check('operator input', 40, validatorName, sized(nasty, 2_000_000, 6_000_000), (name, huge) => {
      // (Huge text of only white space is no reason or name at all: also refused.)
      expect(run(name, { by: 'alice', reason: huge }, true)).toMatch(/reason is longer than|a reason is required/);
      expect(run(name, { by: huge, reason: 'ok' }, false)).toMatch(/operator name is longer than|an operator name \("by"\) is required/);
    });
  });

  // Fields are type-checked before use: a non-string previousTag/newTag, or a supersede without
  // newTag, gets an answer, not a TypeError from inside refNameProblem.
  it('a request of any shape gets an answer (a problem or undefined), never an exception', () => {
    check('operator input', 1500, validatorName, junk, fc.boolean(), (name, req, operators) => {
      const problem = run(name, req, operators);
      expect(problem === undefined || typeof problem === 'string').toBe(true);
    });
  });

  // Whatever an update carries is written to history: `temporal workflow update --input` (or the UI)
  // could send {"by":"alice","reason":"ok","notes":"<1.9 MB>"}. Unknown fields and wrong types are
  // refused by every validator.
  it('a request carrying unknown fields or a non-boolean overrideFreeze of megabytes is refused', () => {
    const extra = fc.tuple(fc.constantFrom('notes', 'comment', 'overrideFreeze', 'x'), sized(nasty, 1_000_000, 1_900_000));
    check('operator input', 30, validatorName, extra, (name, [key, huge]) => {
      expect(run(name, { by: 'alice', reason: 'ok', [key]: huge }, true)).toBeDefined();
    });
  });
});
