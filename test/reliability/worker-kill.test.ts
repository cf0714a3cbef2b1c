/**
 * SIGKILL the worker while trains are in the middle of a staging deploy, an E2E run and a production
 * deploy (and, for a few, wherever they happen to be), start a new worker, and count: every train
 * finishes, each environment gets exactly one completed deployment of each tag, each tag is written
 * once, and nothing is scheduled twice.
 *
 * A few services deploy with a command that is NOT idempotent (deploy-blind.sh: every run deploys)
 * and have a version URL; the kill finds their command after it deployed, while it finishes up. The
 * retry must find the tag running at the version URL and not run the command again.
 *
 * One kill hits many trains at once, each at its own point: that is what keeps the suite short,
 * because each kill costs the heartbeat timeout (the services' `heartbeatSeconds`, 15 s: see
 * `HEARTBEAT_SECONDS`) plus the first retry interval (1 s: `STEP_RETRY`) before Temporal hands the interrupted
 * steps to the new worker; a wanderer caught in a forge call waits out that call's 20 s heartbeat
 * timeout (forge calls heartbeat by themselves) plus its 2 s first retry.
 */
import { afterAll, expect, it } from 'vitest';
import { deployResults, readLedger, figures, report, tallyTrain, type TrainTally } from './tally.js';
import { parkingPlan, parkTrains, releaseClock, seeded, sleep, within, World, SEED, type Parked } from './world.js';

/** Trains parked in each of: staging deploy, E2E run, production deploy. */
const PARKED_PER_STEP = 7;
/** Trains started just before the kill, caught wherever they are (cut, tag, changelog, lock, deploy…). */
const WANDERERS = 6;
/** How long a parked command works on once released (after the kill): its orphan finishes meanwhile. */
const PARK_SECONDS: [number, number] = [1, 20];
/** The kill comes this long after the last train parked. */
const KILL_DELAY_SECONDS: [number, number] = [6, 10];
/** The wanderers start within this many seconds before the kill (a train needs 3 to 30 s to reach the gate). */
const WANDER_SECONDS = 3;
/** Heartbeat timeout of a forge call (20 s) + first retry + the trains' remaining path, with margin. */
const RECOVERY_TIMEOUT_MS = 180_000;

/** Trains of services with a non-idempotent deploy command and a version URL, parked in each deploy. */
const BLIND_PER_DEPLOY = 2;
const parked = parkingPlan(PARKED_PER_STEP);
const blind = parkingPlan(BLIND_PER_DEPLOY, 'x').filter((p) => p.step !== 'e2e');
const isBlind = (p: Parked | undefined) => p !== undefined && blind.some((b) => b.service === p.service);
const wanderers = Array.from({ length: WANDERERS }, (_, i) => `w${i + 1}`);

// The release slot is a day away: a release manager promotes each train when it reaches the gate
// (a release time a minute away would race the cuts on a busy machine).
const world = new World({
  services: [
    ...parked.map((p) => ({ name: p.service })),
    ...blind.map((p) => ({ name: p.service, deploy: 'blind' as const, versionUrl: true })),
    ...wanderers.map((name) => ({ name })),
  ],
  releaseTime: releaseClock(-60),
});
afterAll(() => world.close());

it(
  'trains killed mid-deploy, mid-E2E and anywhere else finish on a new worker with no duplicate side effect',
  async () => {
    const random = seeded(SEED);
    // The blind services draw from their own sequence: the others' kill points stay those of the seed.
    const blindRandom = seeded(SEED + 1);
    await world.startServer();
    const first = await world.startWorker('worker-1');
    const began = Date.now();
    const trains = await parkTrains(world, [...parked, ...blind], (p) => (isBlind(p) ? blindRandom(...PARK_SECONDS) : random(...PARK_SECONDS)));

    // The wanderers start while the others are parked and are caught wherever the kill finds them.
    const killDelay = random(...KILL_DELAY_SECONDS) * 1000;
    const cut = new Set<string>();
    const wandering = wanderers.map((service) =>
      sleep(killDelay - random(0, WANDER_SECONDS * 1000))
        .then(() => world.cut(service))
        .then((id) => {
          cut.add(id);
          return id;
        }),
    );
    await sleep(killDelay);
    // Where the wanderers are, an instant before the kill (a train not cut yet is still in its cut).
    const seen = await Promise.all([...cut].map((id) => world.status(id).then((s) => s.stage)));
    await first.kill();
    const killedAt = Date.now();
    world.releaseParked();
    const caught = [...seen, ...Array<string>(WANDERERS - seen.length).fill('cutting')].sort().join(', ');

    // Each parked train was inside its step's command when the worker died; a blind command had
    // already deployed (the environment ran the tag) and was finishing up.
    const ledger = readLedger(world);
    for (const [trainId, p] of trains) {
      const mine = ledger.filter((l) => l.trainId === trainId && l.target === p.step);
      expect(mine.filter((l) => l.event === 'start' && l.workerPid === first.pid), trainId).toHaveLength(1);
      expect(mine.filter((l) => l.event !== 'start' && l.at < killedAt).map((l) => l.event), trainId).toEqual(isBlind(p) ? ['deployed'] : []);
    }

    await sleep(1000);
    const second = await world.startWorker('worker-2');
    const wandererIds = await within(RECOVERY_TIMEOUT_MS, 'the wanderers cut', Promise.all(wandering));
    const ids = [...trains.keys(), ...wandererIds];
    const promoting = Promise.allSettled(ids.filter((id) => trains.get(id)?.step !== 'production').map((id) => world.promoteWhenWaiting(id, RECOVERY_TIMEOUT_MS)));
    const ended = await world.awaitEnded(ids, RECOVERY_TIMEOUT_MS);
    const recovered = Date.now() - killedAt;
    expect((await promoting).filter((p) => p.status === 'rejected')).toEqual([]);

    const tallies: TrainTally[] = [];
    for (const status of ended) tallies.push(await tallyTrain(world, status));
    const result = figures('worker SIGKILL (mid staging deploy, E2E, production deploy, anywhere)', ids.length, tallies);
    report(result, tallies);
    console.log(
      `[reliability] seed ${SEED}; the parked trains were all in place ${Math.round((killedAt - killDelay - began) / 1000)} s after the first cut; killed ${Math.round(killDelay)} ms later; ` +
        `all ended ${Math.round(recovered / 1000)} s after the kill; wanderers were in ${caught}`,
    );

    const last = ended.reduce((a, b) => ((a.stages.at(-1)?.startedAt ?? 0) > (b.stages.at(-1)?.startedAt ?? 0) ? a : b));
    const timeline = last.stages.map((st) => `${st.stage} ${Math.round((st.startedAt - killedAt) / 1000)}s`).join(', ');
    console.log(`[reliability] last to end: ${last.trainId} (${timeline}, relative to the kill)`);

    expect(result).toMatchObject({ completed: ids.length, duplicates: 0, lost: 0 });
    const after = readLedger(world);
    for (const [trainId, p] of trains) {
      const t = tallies.find((x) => x.trainId === trainId);
      if (isBlind(p)) {
        // The non-idempotent command ran exactly once per environment: the retry on the new worker
        // read the tag at the version URL and recorded the deploy without running it again.
        expect(t?.attempts, trainId).toEqual({ staging: 1, e2e: 1, production: 1 });
        const outcomes = after.filter((l) => l.trainId === trainId && l.target === p.step && l.event !== 'start').map((l) => l.event);
        expect(outcomes, trainId).toEqual(['deployed']);
        const step = (await deployResults(world.client, trainId)).find((d) => d.environment === p.step);
        expect(step, trainId).toMatchObject({ alreadyRunning: true, summary: expect.stringContaining(`already runs in ${p.step} (read from http://127.0.0.1:`) as unknown });
        expect(step?.attempt, trainId).toBeGreaterThan(1);
        expect(second.output(), trainId).toContain(`${step?.tag} already runs in ${p.step} (read from`);
        continue;
      }
      // The interrupted step ran twice (killed, then retried on the new worker); every other once.
      expect(t?.attempts, trainId).toEqual({ staging: 1, e2e: 1, production: 1, [p.step]: 2 });
      const retry = after.find((l) => l.trainId === trainId && l.target === p.step && l.event === 'start' && l.workerPid === second.pid);
      expect(retry, `${trainId}: the retry ran on the new worker`).toBeDefined();
      if (p.step !== 'e2e') {
        // The orphaned command finished the deployment; the retry found it done and changed nothing.
        const outcomes = after.filter((l) => l.trainId === trainId && l.target === p.step && l.event !== 'start').map((l) => l.event);
        expect(outcomes.sort(), trainId).toEqual(['deployed', 'unchanged']);
      }
    }
  },
  RECOVERY_TIMEOUT_MS + 120_000,
);
