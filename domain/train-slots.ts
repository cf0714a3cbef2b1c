/**
 * One train per release slot. A second train cut for a slot whose train is still active would race
 * it to production, and whichever deployed last would win (the older one once deployed over the
 * newer). So a cut for a slot that has an active train is refused (a scheduled cut skips), with the
 * reason and the way to replace that train: a re-tag (`trainyard tag`), which supersedes it.
 *
 * Why refuse rather than supersede: the active train may have passed staging and E2E and be waiting
 * for its release time; `start` carries no reason, and nothing should throw that work away silently.
 * Replacing a release candidate is the seed's manual re-tag, a deliberate act with a reason.
 */
import { describeTime } from './calendar.js';

/** What a cut needs to know of a running train of its service. */
export interface ActiveTrain {
  trainId: string;
  tag: string;
  stage: string;
  commit: string;
  /** The release slot it was cut for (epoch ms). */
  releaseAt: number;
}

/** The active train that already holds the slot at `releaseAt`, other than `except` (a re-tag's old train). */
export function slotHolder(trains: readonly ActiveTrain[], releaseAt: number, except?: string): ActiveTrain | undefined {
  return trains.find((t) => t.releaseAt === releaseAt && t.trainId !== except);
}

/** Why a cut for the slot is refused: which train holds it, and what to do instead. */
export function slotTakenReason(service: string, holder: ActiveTrain, timeZone: string): string {
  return (
    `service ${service} already has a train for this release slot: ${holder.trainId} (${holder.stage}, commit ${holder.commit.slice(0, 12)}, release ${describeTime(holder.releaseAt, timeZone)}); ` +
    `a second train for one slot could deploy over it. To release a newer commit instead, re-tag: trainyard tag ${service} --from <sha> --reason "…" ` +
    `(it supersedes ${holder.trainId}, which then never deploys); or abort that train first`
  );
}
