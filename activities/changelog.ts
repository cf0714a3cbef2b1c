/**
 * The release changelog: from the version production last verified (the ledger's record, else what
 * production reports) to the new tag, published as the tag's release notes. Only a summary returns
 * to the workflow; the notes themselves stay out of history.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { log } from '@temporalio/activity';
import { renderChangelog } from '../domain/changelog.js';
import { ledgerId, trainId } from '../domain/ids.js';
import { changelogBase } from '../domain/ledger.js';
import { TrainyardError } from '../domain/errors.js';
import type { ChangelogSummary } from '../domain/train.js';
import { ledgerQuery } from '../workflows/ledger-messages.js';
import { readVersion } from './checks/http.js';
import type { Drivers } from './registry.js';

/** Commits listed at most; the forge says when there were more. */
export const CHANGELOG_LIMIT = 500;

export interface ChangelogRequest {
  service: string;
  tag: string;
  /** Start from this tag instead of the last production version (the seed's OVERRIDE_PREVIOUS_TAG). */
  previousTag?: string;
}

async function lastProductionTag(client: Client, drivers: Drivers, service: string, tag: string): Promise<string | undefined> {
  try {
    const ledger = await client.workflow.getHandle(ledgerId(service, 'production')).query(ledgerQuery);
    const base = changelogBase(ledger, tag);
    if (base) return base.tag;
    // Production ran this tag already: what it reports now came later, so it is no base.
    if (ledger.deployments.some((d) => d.tag === tag)) return undefined;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const url = drivers.versionUrl(service, 'production');
  const reported = url ? await readVersion(url) : null;
  return reported && reported !== tag ? reported : undefined;
}

/** Tells notifiers that care (Slack sets the release channel's topic); never fails the changelog. */
async function announceChangelog(drivers: Drivers, c: { service: string; tag: string; url: string; trainId: string }): Promise<void> {
  const results = await Promise.allSettled(drivers.notifiers(c.service).map((n) => n.changelogPublished?.(c)));
  for (const r of results) {
    if (r.status === 'rejected') log.warn('could not announce the changelog', { service: c.service, tag: c.tag, error: String((r.reason as Error)?.message ?? r.reason) });
  }
}

/** How many of a service's tags an "unknown tag" error lists. */
const TAGS_SHOWN = 8;

/**
 * A tag a person named must exist: a misspelled `--from` would otherwise silently rewrite the notes
 * from the first commit. The error lists the service's newest tags.
 */
async function mustExist(drivers: Drivers, releaseTags: (service: string) => Promise<string[]>, service: string, tag: string, what: string): Promise<void> {
  if (await drivers.forge(service).tagCommit(tag)) return;
  const tags = (await releaseTags(service)).sort().reverse().slice(0, TAGS_SHOWN);
  throw new TrainyardError(
    'REF_NOT_FOUND',
    `${what} "${tag}" is not a tag of ${service}'s repository`,
    tags.length > 0 ? `Its newest release tags: ${tags.join(', ')}` : `${service} has no release tags yet`,
  );
}

export function changelogPublisher(client: Client, drivers: Drivers, releaseTags: (service: string) => Promise<string[]>) {
  return async function publishChangelog({ service, tag, previousTag }: ChangelogRequest): Promise<ChangelogSummary> {
    const forge = drivers.forge(service);
    await mustExist(drivers, releaseTags, service, tag, 'the release');
    if (previousTag !== undefined) await mustExist(drivers, releaseTags, service, previousTag, 'the previous tag');
    const fromTag = previousTag ?? (await lastProductionTag(client, drivers, service, tag));
    // A base the forge does not know (e.g. production reports a tag from elsewhere) is not fatal.
    const from = fromTag && (await forge.tagCommit(fromTag)) ? fromTag : undefined;
    const { entries, truncated } = await forge.commitsBetween(from, tag, CHANGELOG_LIMIT);
    const notes = renderChangelog({ ...(from ? { fromTag: from } : {}), toTag: tag, entries, truncated }, { service });
    const { url } = await forge.publishRelease({ tag, name: tag, notes, prerelease: true });
    await announceChangelog(drivers, { service, tag, url, trainId: trainId(service, tag) });
    return { url, ...(from ? { fromTag: from } : {}), commits: entries.length, truncated };
  };
}
