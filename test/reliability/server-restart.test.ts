/**
 * The Temporal dev server dies (SIGKILL: no shutdown) while trains are in the middle of their steps,
 * and comes back on the same database file: the trains resume where they were and finish, with no
 * duplicate side effect. The worker process stays up throughout and reconnects by itself.
 */
import { afterAll, expect, it } from 'vitest';
import { figures, readLedger, report, tallyTrain, type TrainTally } from './tally.js';
import { parkingPlan, parkTrains, releaseClock, seeded, sleep, World, SEED } from './world.js';

/** Trains parked in each of: staging deploy, E2E run, production deploy. */
const PARKED_PER_STEP = 2;
/** Released at the crash, parked commands finish during the outage or after it. */
const PARK_SECONDS: [number, number] = [1, 6];
/** How long the server stays down. */
const DOWN_SECONDS: [number, number] = [2, 4];
const RECOVERY_TIMEOUT_MS = 120_000;

const plan = parkingPlan(PARKED_PER_STEP);
// The release slot is a day away: a release manager promotes each train when it reaches the gate.
const world = new World({ services: plan.map((p) => ({ name: p.service })), releaseTime: releaseClock(-60) });
afterAll(() => world.close());

it(
  'trains resume and finish after the dev server crashed and restarted on its database file',
  async () => {
    const random = seeded(SEED);
    await world.startServer();
    const worker = await world.startWorker('worker');
    const trains = await parkTrains(world, plan, () => random(...PARK_SECONDS));

    await world.crashServer();
    const crashedAt = Date.now();
    world.releaseParked();
    const down = random(...DOWN_SECONDS) * 1000;
    await sleep(down);
    await world.startServer();

    const ids = [...trains.keys()];
    await Promise.all([...trains].filter(([, p]) => p.step !== 'production').map(([id]) => world.promoteWhenWaiting(id, RECOVERY_TIMEOUT_MS)));
    const ended = await world.awaitEnded(ids, RECOVERY_TIMEOUT_MS);
    const endedAt = Date.now();
    const tallies: TrainTally[] = [];
    for (const status of ended) tallies.push(await tallyTrain(world, status));
    const result = figures('dev server SIGKILL + restart on its database', ids.length, tallies);
    report(result, tallies);
    console.log(`[reliability] server down ${Math.round(down)} ms; all ended ${Math.round((endedAt - crashedAt) / 1000)} s after the crash`);

    expect(worker.alive()).toBe(true);
    expect(result).toMatchObject({ completed: ids.length, duplicates: 0, lost: 0 });
    // Every parked command was running when the server died and no step had to start again.
    const ledger = readLedger(world);
    for (const [trainId, p] of trains) {
      const started = ledger.find((l) => l.trainId === trainId && l.target === p.step && l.event === 'start');
      expect(started?.at, trainId).toBeLessThan(crashedAt);
      expect(tallies.find((t) => t.trainId === trainId)?.attempts, trainId).toEqual({ staging: 1, e2e: 1, production: 1 });
    }
  },
  RECOVERY_TIMEOUT_MS + 90_000,
);
