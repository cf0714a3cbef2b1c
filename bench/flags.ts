/** `npm run bench -- [flags]`: the bench's options. */
import { parseArgs } from 'node:util';
import type { DbKind } from './stack.js';

export const PHASES = ['startup', 'cli', 'reaction', 'history', 'scale', 'forge', 'suite'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  quick: boolean;
  trains: number;
  trials: number;
  deployments: number;
  polls: number;
  startupSamples: number;
  phases: Phase[];
  db: DbKind;
  /** Whether this run writes bench/results/latest.json and docs/PERFORMANCE.md. */
  official: boolean;
}

export const USAGE = `npm run bench -- [options]
  --quick                fewer trials and trains (about 2 minutes)
  --trains <n>           trains held at the gate in the scale phase (default 1000; quick 100)
  --trials <n>           reaction-time trials per path (default 200; quick 15)
  --deployments <n>      deployments through one ledger (default 1000; quick 150)
  --polls <n>            heartbeats of the polling deploy (default 10000)
  --startup-samples <n>  worker starts per mode (default 5; quick 1)
  --only <phases>        comma-separated subset of ${PHASES.join(',')}
  --db <kind>            the dev server's SQLite: tmpfs (default; a file in /dev/shm), disk, memory
  --no-docs              do not write bench/results/latest.json and docs/PERFORMANCE.md
Only a full run (no --quick, --only, --db or changed sizes) writes latest.json and docs/PERFORMANCE.md;
other runs write bench/results/partial.json.tmp.`;

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

export function parseFlags(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      trains: { type: 'string' },
      trials: { type: 'string' },
      deployments: { type: 'string' },
      polls: { type: 'string' },
      'startup-samples': { type: 'string' },
      only: { type: 'string' },
      db: { type: 'string', default: 'tmpfs' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const phases = values.only ? values.only.split(',').map((p) => p.trim()) : [...PHASES];
  const unknown = phases.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`unknown phase(s) ${unknown.join(', ')}; choose from ${PHASES.join(', ')}`);
  const db = values.db as DbKind;
  if (!['tmpfs', 'disk', 'memory'].includes(db)) throw new Error(`--db must be tmpfs, disk or memory, got "${db}"`);
  const sized = [values.trains, values.trials, values.deployments, values.polls, values['startup-samples']].some((v) => v !== undefined);
  return {
    quick,
    trains: count(values.trains, quick ? 100 : 1000, 'trains'),
    trials: count(values.trials, quick ? 15 : 200, 'trials'),
    deployments: count(values.deployments, quick ? 150 : 1000, 'deployments'),
    polls: count(values.polls, 10_000, 'polls'),
    startupSamples: count(values['startup-samples'], quick ? 1 : 5, 'startup-samples'),
    phases: phases as Phase[],
    db,
    official: !quick && !values.only && !sized && db === 'tmpfs' && values['no-docs'] !== true,
  };
}
