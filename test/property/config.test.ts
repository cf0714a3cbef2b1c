/**
 * Config files under hostile input: random values, and valid configs mutated at random, go through
 * parseConfig to "ok" or to problems that each name a path, never to an exception; YAML text of any
 * shape goes through loadConfigFile to a config or a CONFIG_INVALID error.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../client/config-file.js';
import { parseConfig } from '../../domain/config.js';
import { TrainyardError } from '../../domain/errors.js';
import { check, count, nasty, printTally, sized } from './arbitraries.js';

afterAll(printTally);

const DEMO_YAML = readFileSync(join(import.meta.dirname, '..', '..', 'demo', 'trainyard.yaml'), 'utf8');

/** Every driver kind and optional section, so mutations reach all of the schema. */
const RICH = {
  temporal: { taskQueue: 'releases', uiUrl: 'https://temporal.example.com' },
  services: {
    api: {
      forge: { kind: 'github', repository: 'acme/api', tokenEnv: 'GITHUB_TOKEN' },
      tagFormat: 'api/v{yyyy}.{MM}.{dd}.{n}',
      release: { timeZone: 'Europe/Berlin', days: ['mon', 'wed'], time: '10:30', minLeadHours: 6 },
      e2e: { kind: 'github-actions', workflow: 'e2e.yml', inputs: { tag: '{tag}' } },
      cut: { at: '15:00' },
      e2eAt: '02:00',
      environments: {
        staging: {
          deploy: { kind: 'gitlab-pipeline', variables: { ENV: '{environment}' }, job: 'deploy' },
          smoke: { kind: 'http', urls: ['https://staging.example.com/health'], expectBodyContains: 'ok' },
          annotate: [{ kind: 'grafana', url: 'https://grafana.example.com', dashboardUid: 'abc' }],
        },
        production: {
          deploy: { kind: 'webhook', url: 'https://deploy.example.com/hook', secretEnv: 'DEPLOY_SECRET', mode: 'callback' },
          smoke: { kind: 'command', command: ['./smoke.sh'], env: { MODE: 'prod' } },
          versionUrl: 'https://example.com/version',
        },
      },
      freezeWindows: [{ reason: 'weekend', days: ['sat', 'sun'] }, { reason: 'year end', dates: { from: '2026-12-20', to: '2027-01-04' } }],
      operators: [{ name: 'alice', rights: ['promote', 'freeze'] }],
      decisionDeadlineHours: 48,
      notify: [{ kind: 'slack', channels: ['#releases'], events: ['released'] }, { kind: 'webhook', url: 'https://hooks.example.com', secretEnv: 'HOOK_SECRET' }],
    },
    web: {
      forge: { kind: 'gitlab', project: 'acme/web' },
      environments: {
        staging: { deploy: { kind: 'git-promotion', branch: 'staging' } },
        production: { deploy: { kind: 'command', command: ['./deploy.sh'] } },
      },
    },
  },
};

const BASES = [parse(DEMO_YAML) as unknown, RICH];
/** Records: their keys are names the user picks, so a new key there is not an unknown key. */
const RECORDS = new Set(['services', 'env', 'inputs', 'variables', 'jobs']);

type Path = (string | number)[];

function pathsOf(value: unknown, path: Path = [], out: { path: Path; strict: boolean }[] = []): { path: Path; strict: boolean }[] {
  const last = path[path.length - 1];
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  out.push({ path, strict: isObject && !RECORDS.has(String(last)) });
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...path, i], out));
  else if (isObject) for (const [k, v] of Object.entries(value)) pathsOf(v, [...path, k], out);
  return out;
}

/** The path as parseConfig prints it: `services.api.environments.staging.deploy.command[0]`. */
function printed(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[') || '(top level)';
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  return node;
}

const hostileValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  nasty,
  sized(nasty, 10_000, 300_000),
  fc.constantFrom(NaN, Infinity, -1, 0, 1e308, -0, 2 ** 53 + 1, '', ' ', null, [], {}, '__proto__', 'constructor'),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

function applyMutations(base: unknown, mutations: { kind: 'set' | 'delete'; at: number; value?: unknown }[]): unknown {
  const root = structuredClone(base);
  for (const m of mutations) {
    const paths = pathsOf(root).filter((p) => p.path.length > 0);
    const target = paths[m.at % paths.length];
    if (!target) continue;
    const parent = parentOf(root, target.path);
    const key = target.path[target.path.length - 1]!;
    if (m.kind === 'set') parent[key] = m.value;
    else if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  }
  return root;
}

function expectAnswer(raw: unknown): void {
  const result = parseConfig(raw);
  if (result.ok) {
    expect(Object.keys(result.config.services).length).toBeGreaterThan(0);
    return;
  }
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    expect(typeof problem.path === 'string' && problem.path.length > 0).toBe(true);
    expect(typeof problem.message === 'string' && problem.message.length > 0).toBe(true);
  }
}

describe('config files', () => {
  it('random values as a whole config: ok or problems with paths, never an exception', () => {
    check('config', 800, fc.oneof(fc.anything({ maxDepth: 4 }), fc.record({ services: fc.anything({ maxDepth: 3 }), temporal: fc.anything({ maxDepth: 2 }) })), expectAnswer);
  });

  it('valid configs with 1 to 4 random changes: ok or problems with paths, never an exception', () => {
    check('config', 1200, fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
      expectAnswer(applyMutations(base, mutations));
    });
  });

  it('an unknown key anywhere outside a name-keyed map is a problem at that place', () => {
    check('config', 600, fc.constantFrom(...BASES), fc.nat(), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,12}$/), (base, at, suffix) => {
      const root = structuredClone(base) as Record<string, unknown>;
      const strict = pathsOf(root).filter((p) => p.strict);
      const target = strict[at % strict.length]!;
      const key = `unknown_${suffix}`;
      (target.path.reduce<Record<string | number, unknown>>((node, k) => node[k] as Record<string | number, unknown>, root))[key] = 1;
      const result = parseConfig(root);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problems.some((p) => p.path === printed(target.path) && p.message.includes(key)), JSON.stringify(result.problems)).toBe(true);
    });
  });

  // Problems quote the rejected value (the HH:mm checks, the time zone, tagFormat tokens, zod's
  // unknown keys): parseConfig bounds every message, so a 300 KB `time:` gives a short line.
  it('problem messages stay short whatever the value', () => {
    check('config', 200, fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, mutations) => {
      const result = parseConfig(applyMutations(base, mutations));
      if (!result.ok) for (const p of result.problems) expect(p.message.length).toBeLessThan(1_000);
    });
  });

  it('any YAML text: a config, or CONFIG_INVALID that says how to go on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-config-'));
    const file = join(dir, 'trainyard.yaml');
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 20 }), insert: fc.oneof(nasty, fc.constantFrom(':', '- ', '{', '}', '[', '&a', '*a', '!!js/function', '\n  ', '\t', '---\n', '? ', '%YAML 1.1\n', '<<: *a')) });
    const text = fc.oneof(
      fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) =>
        edits.reduce((doc, e) => {
          const at = e.at % (doc.length + 1);
          return doc.slice(0, at) + e.insert + doc.slice(at + e.cut);
        }, DEMO_YAML),
      ),
      fc.string({ unit: 'binary', maxLength: 400 }),
    );
    check('config', 400, text, (yamlText) => {
      writeFileSync(file, yamlText);
      try {
        loadConfigFile(file);
      } catch (err) {
        expect(err).toBeInstanceOf(TrainyardError);
        expect((err as TrainyardError).code).toBe('CONFIG_INVALID');
        expect((err as TrainyardError).hint).toMatch(/trainyard config check/);
      }
    });

    // An alias bomb is refused by the YAML parser's alias limit rather than expanded.
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    writeFileSync(file, bomb);
    const started = Date.now();
    expect(() => loadConfigFile(file)).toThrow(TrainyardError);
    // Expanded, it would be 10^9 nodes: finishing at all shows it was refused, not expanded.
    expect(Date.now() - started).toBeLessThan(30_000);
    count('config', 1);
  });
});
