/** Workflow ids: one helper per entity, shared by workflows, worker and client. */

export function trainId(service: string, tag: string): string {
  return `train/${service}/${tag}`;
}

/** The cut of one service: at most one runs at a time (schedules and CLI alike). */
export function cutId(service: string): string {
  return `cut/${service}`;
}

/** A hotfix's cut: beside the service's regular cut, so a hotfix never waits for one. */
export function hotfixCutId(service: string): string {
  return `${cutId(service)}-hotfix`;
}

export function parseTrainId(id: string): { service: string; tag: string } | undefined {
  const m = /^train\/([^/]+)\/(.+)$/.exec(id);
  return m && m[1] && m[2] ? { service: m[1], tag: m[2] } : undefined;
}

/** The environment ledger of a service's environment: the single writer of what runs there. */
export function ledgerId(service: string, environment: string): string {
  return `env/${service}/${environment}`;
}

/** The operator name of scheduled cuts (the Temporal Schedule's action). */
export const SCHEDULE = 'schedule';

/** Every schedule Trainyard manages has this prefix; others are left alone. */
export const SCHEDULE_PREFIX = 'trainyard-cut-';

/** The Temporal Schedule of a service's day-before cut. */
export function cutScheduleId(service: string): string {
  return `${SCHEDULE_PREFIX}${service}`;
}

/** A rollback of an environment to a tag: one at a time per target (a retried start finds the same one). */
export function rollbackId(service: string, environment: string, tag: string): string {
  return `rollback/${service}/${environment}/${tag}`;
}

/** The follower that deploys every green commit of a service's branch to staging (seed 004). */
export function stageFollowerId(service: string): string {
  return `stage/${service}`;
}
