/**
 * Production never goes backwards by accident: before a train deploys to production it is compared
 * with what production runs. A tag whose commit does not contain the running version's commit (the
 * running commit is not an ancestor of it) would remove changes from production: a newer release, or
 * a hotfix's cherry-picked commits. Such a train is not deployed silently; it waits for a person.
 *
 * Pure decisions: the forge answers how two commits relate (`CommitRelation`), the workflow asks here
 * what to do with the answer.
 */

/**
 * How `head` relates to `base`, as GitHub's compare API says it: `ahead` (base is an ancestor of
 * head), `behind` (head is an ancestor of base), `identical`, or `diverged` (neither contains the
 * other; also when they share no history at all).
 */
export const COMMIT_RELATIONS = ['identical', 'ahead', 'behind', 'diverged'] as const;
export type CommitRelation = (typeof COMMIT_RELATIONS)[number];

export interface Version {
  tag: string;
  commit: string;
}

/** Why a train waits instead of deploying to production, and what production runs. */
export interface ProductionHold {
  running: Version;
  /** How the train's commit relates to the running one; `unknown` when the forge could not tell. */
  relation: 'behind' | 'diverged' | 'unknown';
  why: string;
}

/** `overridden`: deployed only because an operator accepted removing what production runs. */
export type ProductionOrder = { kind: 'deploy'; why: string; overridden?: true } | { kind: 'hold'; hold: ProductionHold };

const short = (sha: string) => sha.slice(0, 7);

/**
 * The comparison to ask the forge for before `candidate` replaces `running`, or undefined when there
 * is nothing to compare: nothing known runs there, or it is the same commit.
 */
export function comparisonNeeded(candidate: Version, running: Version | undefined): { base: string; head: string } | undefined {
  if (!running || running.commit === candidate.commit) return undefined;
  return { base: running.commit, head: candidate.commit };
}

/**
 * Deploy `candidate` over `running` or hold it, given how its commit relates to the running one
 * (`relation`; an `Error`'s message when the forge could not answer). `overriddenFor`: the running
 * tag an operator has already accepted removing (promote with overrideBackwards while held).
 */
export function productionOrder(input: { candidate: Version; running: Version | undefined; relation?: CommitRelation | { error: string }; overriddenFor?: string }): ProductionOrder {
  const { candidate, running, relation } = input;
  if (!running) return { kind: 'deploy', why: 'nothing known runs in production' };
  if (running.commit === candidate.commit || relation === 'identical') return { kind: 'deploy', why: `${candidate.tag} is the commit production runs` };
  if (relation === 'ahead') return { kind: 'deploy', why: `${candidate.tag} contains ${running.tag}` };
  if (input.overriddenFor === running.tag) return { kind: 'deploy', why: `an operator accepted removing ${running.tag} from production`, overridden: true };
  const runs = `production runs ${running.tag} (${short(running.commit)})`;
  if (relation === 'behind') {
    return { kind: 'hold', hold: { running, relation, why: `${runs}, which ${candidate.tag} does not contain: deploying it would remove that change (${candidate.tag} is older: production would go backwards)` } };
  }
  if (relation === 'diverged') {
    return { kind: 'hold', hold: { running, relation, why: `${runs}, which ${candidate.tag} does not contain: deploying it would remove that change (e.g. a hotfix's cherry-picked commits)` } };
  }
  const error = relation?.error ?? 'no answer';
  return { kind: 'hold', hold: { running, relation: 'unknown', why: `${runs}, and the forge could not tell whether ${candidate.tag} contains it (${error}): deploying it might remove that change` } };
}

/** The choices a held train offers, as commands (the same updates work from the UI and `temporal`). */
export function holdChoices(service: string, trainId: string): string {
  return (
    `re-tag from a newer commit that contains it (trainyard tag ${service} --from <sha> --reason "…", which supersedes this train), ` +
    `abort (trainyard abort ${trainId} --reason "…"), ` +
    `or deploy it anyway (trainyard promote ${trainId} --override-backwards --reason "…"; needs the rollback right)`
  );
}
