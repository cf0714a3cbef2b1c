/**
 * `git-promotion` deployer (seed 002: "production is a branch"): a merge request brings the exact
 * tagged commit into the environment branch and is merged once its pipeline is green. The source is
 * a branch made at the tag's commit, never a moving branch head, so what reaches production is what
 * was tested in staging. Re-running (a retried activity, a resumed worker) finds the same branch and
 * the same open request; a tag already contained in the environment branch is success.
 */
import type { GitPromotionConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import type { Forge } from '../forge/forge.js';
import type { DeployRequest } from '../types.js';
import type { DeployContext, Deployer } from './deployer.js';

export interface PromotionOptions {
  pollMs: number;
  timeoutMs: number;
  now?: () => number;
}

/** Branch names may not contain what tags often do (`/` is fine, `..` and `:` are not). */
export function promotionBranch(environment: string, tag: string): string {
  return `trainyard/promote-${environment}/${tag.replace(/[^A-Za-z0-9._/-]/g, '-').replace(/\.\.+/g, '.')}`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class GitPromotionDeployer implements Deployer {
  constructor(
    private readonly forge: Forge,
    private readonly config: GitPromotionConfig,
    private readonly options: PromotionOptions = { pollMs: config.pollSeconds * 1000, timeoutMs: config.timeoutSeconds * 1000 },
  ) {}

  async deploy(req: DeployRequest, ctx: DeployContext): Promise<{ summary: string; url?: string }> {
    const { forge, config } = this;
    const tagged = await forge.tagCommit(req.tag);
    if (!tagged) throw new TrainyardError('REF_NOT_FOUND', `tag ${req.tag} does not exist on the forge`, 'Promotion only ever moves a tag: create it first (the train does).');
    if (tagged !== req.commit) {
      throw new TrainyardError('TAG_CONFLICT', `tag ${req.tag} points at ${tagged.slice(0, 12)}, not at the commit the train tested (${req.commit.slice(0, 12)})`, 'Nothing was promoted. Cut a new train from the commit you mean to ship.');
    }
    // Already in the environment branch (a re-run after the merge, or a re-deploy): nothing to bring.
    const missing = await forge.commitsBetween(config.branch, req.tag, 1);
    if (missing.entries.length === 0) return { summary: `${config.branch} already contains ${req.tag}` };
    const source = promotionBranch(req.environment, req.tag);
    await forge.createBranch(source, req.tag);
    const { change } = await forge.openChangeRequest({
      sourceBranch: source,
      targetBranch: config.branch,
      title: `Promote ${req.tag} to ${req.environment}`,
      body: `Brings ${req.tag} (${req.commit}) into \`${config.branch}\`.\n\nOpened by Trainyard for ${req.trainId}; it merges this when the pipeline is green.`,
      labels: ['trainyard', `promote-${req.environment}`],
    });
    ctx.heartbeat({ change: change.number });
    const now = this.options.now ?? Date.now;
    const deadline = now() + this.options.timeoutMs;
    for (;;) {
      const result = await forge.mergeWhenGreen(change.number);
      if (result.state === 'merged') return { summary: `promoted ${req.tag} into ${config.branch} (${change.url})`, url: change.url };
      if (result.state === 'blocked') {
        throw new TrainyardError('DEPLOY_FAILED', `the promotion of ${req.tag} (${change.url}) cannot merge: its pipeline failed`, 'Fix or re-run the pipeline on the request; the deploy is retried, then waits for `trainyard retry-deploy`.');
      }
      if (ctx.signal.aborted) throw new TrainyardError('DEPLOY_FAILED', `promotion of ${req.tag} was cancelled; ${change.url} stays open`, 'The train was aborted; close the request if it is not wanted.');
      if (now() > deadline) throw new TrainyardError('DEPLOY_TIMEOUT', `${change.url} was not green within ${Math.round(this.options.timeoutMs / 1000)}s`, 'It stays open; retried, or raise timeoutSeconds.');
      await sleep(this.options.pollMs, ctx.signal);
      ctx.heartbeat({ change: change.number });
    }
  }
}
