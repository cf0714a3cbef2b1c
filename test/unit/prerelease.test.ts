/** The pre-release's pure rules: tag naming, notes, the QA gate and its operator checks. */
import { describe, expect, it } from 'vitest';
import { acknowledgeEnvProblem, applyPullRequests, deployProblem, gateOpen, gatePr, gateWaitingFor, newestPreReleaseTag, parsePreReleaseTag, preReleaseTag, preReleaseTagFormatProblem, recheckProblem, renderPreReleaseNotes, waiveProblem, type PreReleasePolicy, type PreReleaseStatus } from '../../domain/prerelease.js';
import { preReleaseConfigSchema } from '../../domain/prerelease-config.js';

const policy: PreReleasePolicy = {
  service: 'monitor',
  tagFormat: '{yyyy}.{MM}.{dd}',
  approvalLabel: 'qa-approved',
  envVarLabel: 'needs-env-var',
  sres: ['sam'],
  recheckMinutes: 10,
  expireHours: 168,
  timeZone: 'UTC',
  operators: [
    { name: 'alice', rights: ['promote'] },
    { name: 'bob', rights: ['abort'] },
  ],
  smoke: true,
};

const pr = (number: number, labels: string[] = []) => gatePr({ number, title: `Change ${number}`, url: `https://github.com/o/r/pull/${number}`, author: 'dev', labels }, policy);

function status(prs = [pr(1, ['QA-Approved']), pr(2), pr(3, ['needs-env-var', 'qa-approved'])]): PreReleaseStatus {
  return { workflowId: 'prerelease/monitor/2024.09.02', service: 'monitor', tag: '2024.09.02', commit: 'c0ffee', stage: 'awaiting-qa', startedAt: 0, prs, truncated: false, actions: [], versions: {} };
}

describe('pre-release tags', () => {
  it('names the first of a day by its date and suffixes the next ones', () => {
    expect(preReleaseTag('{yyyy}.{MM}.{dd}', 'monitor', '2024-09-01', ['2024.08.30'])).toBe('2024.09.01');
    expect(preReleaseTag('{yyyy}.{MM}.{dd}', 'monitor', '2024-09-01', ['2024.09.01'])).toBe('2024.09.01.2');
    expect(preReleaseTag('{yyyy}.{MM}.{dd}', 'monitor', '2024-09-01', ['2024.09.01', '2024.09.01.2'])).toBe('2024.09.01.3');
    expect(preReleaseTag('{service}/v{yyyy}.{MM}.{dd}.{n}', 'monitor', '2024-09-01', ['monitor/v2024.09.01.1'])).toBe('monitor/v2024.09.01.2');
  });

  it('parses its own tags only, and finds the newest', () => {
    expect(parsePreReleaseTag('{yyyy}.{MM}.{dd}', 'm', '2024.09.01')).toEqual({ date: '2024-09-01', n: 1 });
    expect(parsePreReleaseTag('{yyyy}.{MM}.{dd}', 'm', '2024.09.01.2')).toEqual({ date: '2024-09-01', n: 2 });
    for (const other of ['2024.09.01.1', '2024.09.011', 'v2024.09.01', 'api/v2024.09.01.1']) expect(parsePreReleaseTag('{yyyy}.{MM}.{dd}', 'm', other)).toBeUndefined();
    expect(newestPreReleaseTag('{yyyy}.{MM}.{dd}', 'm', ['2024.09.01.2', '2024.08.31', 'v9999.01.01', '2024.09.01'])).toBe('2024.09.01.2');
  });

  it('checks a format at config load', () => {
    expect(preReleaseTagFormatProblem('{yyyy}.{MM}.{dd}')).toBeUndefined();
    expect(preReleaseTagFormatProblem('{yyyy}.{MM}')).toContain('{dd}');
    expect(preReleaseTagFormatProblem('{yyyy} {MM}.{dd}')).toContain('not valid git refs');
    const parsed = preReleaseConfigSchema.safeParse({ schedule: { at: '9am' }, tagFormat: '{week}' });
    expect(parsed.success).toBe(false);
    expect(preReleaseConfigSchema.parse({ schedule: { at: '09:00' } })).toMatchObject({ schedule: { days: ['mon', 'tue', 'wed', 'thu', 'fri'] }, approvalLabel: 'qa-approved', recheckMinutes: 10 });
  });
});

describe('the QA gate', () => {
  it('opens when every pull request is approved or waived and every env var change acknowledged', () => {
    const s = status();
    expect(gateOpen(s.prs)).toBe(false);
    expect(gateWaitingFor(s.prs, policy)).toBe('QA ("qa-approved" label or a waiver) on #2; an SRE\'s acknowledgement of env var changes in #3');
    s.prs[1]!.waived = { by: 'alice', reason: 'copy change', at: 1 };
    expect(gateOpen(s.prs)).toBe(false);
    s.prs[2]!.envAcknowledged = { by: 'sam', reason: 'set in prod', at: 2 };
    expect(gateOpen(s.prs)).toBe(true);
  });

  it('re-reads labels and keeps waivers; a removed approval closes the gate again', () => {
    const s = status();
    s.prs[1]!.waived = { by: 'alice', reason: 'ok', at: 1 };
    const fresh = applyPullRequests(s.prs, [{ number: 1, title: 'Renamed', url: 'u', labels: [] }, { number: 2, title: 'Change 2', url: 'u', labels: [] }], policy);
    expect(fresh[0]).toMatchObject({ title: 'Renamed', approved: false, author: 'dev' });
    expect(fresh[1]?.waived?.by).toBe('alice');
    expect(gateOpen(fresh)).toBe(false);
  });

  it('renders notes with a checklist and the env var warning', () => {
    const notes = renderPreReleaseNotes({ tag: '2024.09.02', previousTag: '2024.09.01', prs: status().prs, truncated: true, policy });
    expect(notes).toContain('## Pull requests merged since 2024.09.01');
    expect(notes).toContain('- [x] #1 Change 1 by @dev (https://github.com/o/r/pull/1)');
    expect(notes).toContain('- [ ] #2 Change 2');
    expect(notes).toContain('#3 Change 3 by @dev (https://github.com/o/r/pull/3) — **needs an env var change**');
    expect(notes).toContain('…and more');
  });
});

describe('operator checks', () => {
  it('waive: needs a known pull request, a reason and the promote right', () => {
    const s = status();
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: 9 })).toContain('#9 is not in pre-release 2024.09.02');
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: -2 })).toContain('positive integer');
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: 2.5 })).toContain('positive integer');
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: true })).toContain('"pr" must be a string or number');
    expect(waiveProblem(s, policy, { by: 'alice', pr: 2 })).toContain('a reason is required');
    expect(waiveProblem(s, policy, { by: 'bob', reason: 'x', pr: 2 })).toContain('does not have the "promote" right');
    expect(waiveProblem(s, policy, { by: 'mallory', reason: 'x', pr: 2 })).toContain('is not an operator');
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: 1 })).toContain('already approved');
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: '#2' })).toBeUndefined();
    expect(waiveProblem(s, policy, { by: 'alice', reason: 'x', pr: 2, extra: 1 })).toContain('unknown field "extra"');
  });

  it('acknowledgeEnv: only SREs, only for a pull request with the env var label', () => {
    const s = status();
    expect(acknowledgeEnvProblem(s, policy, { by: 'alice', reason: 'done', pr: 3 })).toContain('"alice" is not an SRE');
    expect(acknowledgeEnvProblem(s, policy, { by: 'sam', reason: 'done', pr: 2 })).toContain('no "needs-env-var" label');
    expect(acknowledgeEnvProblem(s, policy, { by: 'sam', reason: 'done', pr: '3' })).toBeUndefined();
    expect(acknowledgeEnvProblem(s, { ...policy, sres: [] }, { by: 'sam', reason: 'done', pr: 3 })).toContain('lists no SREs');
  });

  it('deploy: refused while the gate is closed, for the wrong operator, or twice', () => {
    const s = status();
    expect(deployProblem(s, policy, { by: 'alice', reason: 'ship' })).toContain('the QA gate of 2024.09.02 is closed: waiting for QA');
    s.prs[1]!.waived = { by: 'alice', reason: 'ok', at: 1 };
    s.prs[2]!.envAcknowledged = { by: 'sam', reason: 'ok', at: 1 };
    expect(deployProblem(s, policy, { by: 'bob', reason: 'ship' })).toContain('"promote" right');
    expect(deployProblem(s, policy, { by: 'alice' })).toContain('reason');
    expect(deployProblem(s, policy, { by: 'alice', reason: 'ship' })).toBeUndefined();
    s.actions.push({ kind: 'deploy', by: 'alice', reason: 'ship', at: 3 });
    expect(deployProblem(s, policy, { by: 'alice', reason: 'ship' })).toContain('already deployed');
    expect(recheckProblem({ ...s, stage: 'released' }, { by: 'alice' })).toContain('no gate');
    expect(recheckProblem(s, { by: 'alice' })).toBeUndefined();
  });
});

describe('pre-release schedules', () => {
  it('plans a Mon–Fri schedule in the service zone that runs cutPreRelease, only for services with prerelease settings', async () => {
    const { planPreReleaseSchedules } = await import('../../client/prerelease-schedules.js');
    const { parseConfig } = await import('../../domain/config.js');
    const parsed = parseConfig({
      services: {
        monitor: { forge: { kind: 'local-git', path: '.' }, release: { timeZone: 'America/New_York' }, environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } },
        api: { forge: { kind: 'local-git', path: '.' }, environments: { staging: { deploy: { kind: 'command', command: ['true'] } }, production: { deploy: { kind: 'command', command: ['true'] } } } },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    // Until the fragment is mounted in domain/config.ts, add it after validation.
    Object.assign(parsed.config.services.monitor!, { prerelease: { schedule: { at: '09:30' } } });
    const plans = planPreReleaseSchedules(parsed.config);
    expect(plans.map((p) => [p.scheduleId, p.describe])).toEqual([['trainyard-prerelease-monitor', 'mon,tue,wed,thu,fri at 09:30 America/New_York']]);
    const options = plans[0]!.options;
    expect(options.spec.calendars?.[0]).toMatchObject({ dayOfWeek: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], hour: 9, minute: 30 });
    expect(options.spec.timezone).toBe('America/New_York');
    expect(options.action).toMatchObject({ workflowType: 'cutPreRelease', workflowId: 'prerelease-cut/monitor', args: [{ service: 'monitor', startedBy: 'schedule' }] });
  });
});
