/**
 * Two workers on one task queue; one dies (SIGKILL) while trains are in the middle of their steps.
 * No new worker is started: the survivor takes over the dead worker's trains (after the heartbeat
 * timeout for the steps that were running there) and every train finishes, once.
 */
import { afterAll, expect, it } from 'vitest';
import { figures, readLedger, report, tallyTrain, type TrainTally } from './tally.js';
import { parkingPlan, parkTrains, releaseClock, seeded, World, SEED } from './world.js';

/** Trains parked in each of: staging deploy, E2E run, production deploy. */
const PARKED_PER_STEP = 3;
/** How long a parked command works on once released (after the kill). */
const PARK_SECONDS: [number, number] = [1, 20];
/** Heartbeat timeout (15 s, or 1 min with RELIABILITY_HEARTBEAT_SECONDS=default) + first retry (1 s, `STEP_RETRY`) + the rest of the trains' path, with margin. */
const RECOVERY_TIMEOUT_MS = 150_000;

const plan = parkingPlan(PARKED_PER_STEP);
const world = new World({ services: plan.map((p) => ({ name: p.service })), releaseTime: releaseClock(-60) });
afterAll(() => world.close());

it(
  'when one of two workers is killed, the other carries on and every train finishes once',
  async () => {
    const random = seeded(SEED);
    await world.startServer();
    const workers = [await world.startWorker('worker-a'), await world.startWorker('worker-b')];
    const trains = await parkTrains(world, plan, () => random(...PARK_SECONDS));

    // Kill the worker running more of the parked commands, so the kill certainly interrupts some.
    const parkedOn = (pid: number) => readLedger(world).filter((l) => l.event === 'start' && l.workerPid === pid && trains.get(l.trainId)?.step === l.target).length;
    const [victim, survivor] = parkedOn(workers[0]!.pid) >= parkedOn(workers[1]!.pid) ? [workers[0]!, workers[1]!] : [workers[1]!, workers[0]!];
    const interrupted = parkedOn(victim.pid);
    await victim.kill();
    const killedAt = Date.now();
    world.releaseParked();

    const ids = [...trains.keys()];
    await Promise.all([...trains].filter(([, p]) => p.step !== 'production').map(([id]) => world.promoteWhenWaiting(id, RECOVERY_TIMEOUT_MS)));
    const ended = await world.awaitEnded(ids, RECOVERY_TIMEOUT_MS);
    const endedAt = Date.now();
    const tallies: TrainTally[] = [];
    for (const status of ended) tallies.push(await tallyTrain(world, status));
    const result = figures('one of two workers SIGKILL, no replacement', interrupted, tallies);
    report(result, tallies);
    console.log(`[reliability] ${interrupted} of ${ids.length} parked commands ran on the killed worker; all ended ${Math.round((endedAt - killedAt) / 1000)} s after the kill`);

    expect(interrupted).toBeGreaterThan(0);
    expect(survivor.alive()).toBe(true);
    expect(result).toMatchObject({ completed: ids.length, duplicates: 0, lost: 0 });
    // Everything after the kill ran on the survivor; interrupted steps ran exactly twice.
    const ledger = readLedger(world);
    expect(ledger.filter((l) => l.event === 'start' && l.at > killedAt && l.workerPid !== survivor.pid)).toEqual([]);
    for (const [trainId, p] of trains) {
      const onVictim = ledger.some((l) => l.trainId === trainId && l.target === p.step && l.event === 'start' && l.workerPid === victim.pid);
      expect(tallies.find((t) => t.trainId === trainId)?.attempts[p.step], trainId).toBe(onVictim ? 2 : 1);
    }
  },
  RECOVERY_TIMEOUT_MS + 90_000,
);
