/**
 * Tag names and refs under hostile input: refNameProblem and the tag parsers give a clear answer
 * (a problem, undefined, or a valid result) and never throw; whatever they accept is safe to hand to
 * git as an argument, and git agrees it is a valid ref.
 */
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { bumpTag, formatTag, MAX_TAG_LENGTH, newestTag, nextTag, parseTag, refNameProblem, tagFormatProblem } from '../../domain/tags.js';
import { check, count, nasty, printTally, refLike, sized } from './arbitraries.js';

afterAll(printTally);

const anyRef = fc.oneof({ weight: 4, arbitrary: refLike }, { weight: 3, arbitrary: nasty }, { weight: 1, arbitrary: sized(refLike, MAX_TAG_LENGTH - 2, 300_000) });

/** What an accepted name must never be, whatever the implementation: checked independently. */
function unsafeBecause(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_TAG_LENGTH) return 'length';
  if (name.startsWith('-')) return 'would be read as an option by git';
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(name.replace(/[\u00a0\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/g, ''))) return 'whitespace or control character';
  if (name.includes('..') || name.includes('@{')) return 'git range or reflog syntax';
  return undefined;
}

const service = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const date = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const seq = fc.integer({ min: 1, max: 999_999 });

/** Tag formats as a config author might write them: the four required tokens, literals between. */
const format = fc
  .tuple(
    fc.shuffledSubarray(['{yyyy}', '{MM}', '{dd}', '{n}', '{service}'], { minLength: 4 }),
    fc.array(fc.constantFrom('', '', '.', '-', '/', 'v', 'release-', '_', 'r'), { minLength: 6, maxLength: 6 }),
  )
  .filter(([tokens]) => ['{yyyy}', '{MM}', '{dd}', '{n}'].every((t) => tokens.includes(t)))
  .map(([tokens, seps]) => tokens.map((t, i) => `${seps[i] ?? ''}${t}`).join('') + (seps[5] ?? ''))
  .filter((f) => tagFormatProblem(f) === undefined);

describe('tag names and refs', () => {
  it('refNameProblem answers every string with undefined or a short reason, and what it accepts is safe', () => {
    check('tags', 3000, anyRef, (name) => {
      const problem = refNameProblem(name);
      if (problem !== undefined) {
        expect(problem).toMatch(/^(is|contains|starts|has|ends) /);
        expect(problem.length).toBeLessThan(80); // the name itself is never echoed
        return;
      }
      expect(unsafeBecause(name)).toBeUndefined();
    });
  });

  it('every name it accepts is one git accepts as a tag (git check-ref-format)', () => {
    const accepted = fc.sample(refLike.filter((n) => refNameProblem(n) === undefined), 150);
    const rejectedByGit = accepted.filter((name) => spawnSync('git', ['check-ref-format', `refs/tags/${name}`]).status !== 0);
    count('tags', accepted.length);
    expect(rejectedByGit).toEqual([]);
  });

  // A lone surrogate would reach git as U+FFFD: the ref created would not be the ref named.
  it('accepts only well-formed Unicode, since git receives the name as UTF-8', () => {
    check('tags', 300, fc.tuple(refLike, fc.constantFrom('\ud800', '\udfff', '\udc00x'), refLike), ([before, lone, after]) => {
      // Letters around it, so it cannot pair up with a neighbouring surrogate.
      const name = `${before}a${lone}a${after}`;
      expect(refNameProblem(name), JSON.stringify(name)).toBeDefined();
    });
  });

  it('parseTag never throws on any tag, format or service and returns a real date and number or nothing', () => {
    check('tags', 1500, fc.oneof(format, nasty), fc.oneof(service, nasty), anyRef, (fmt, svc, tag) => {
      const parts = parseTag(fmt, svc, tag);
      if (parts === undefined) return;
      expect(parts.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Number.isInteger(parts.n) && parts.n >= 1 && parts.n <= 999_999).toBe(true);
    });
  });

  it('a tag formatted from a valid format parses back to the same date and number, and is a valid ref', () => {
    check('tags', 1500, format, service, date, seq, (fmt, svc, d, n) => {
      const tag = formatTag(fmt, svc, { date: d, n });
      expect(refNameProblem(tag)).toBeUndefined();
      expect(parseTag(fmt, svc, tag), `${fmt} → ${tag}`).toEqual({ date: d, n });
    });
  });

  it('bumpTag, nextTag and newestTag take any list of existing tags: a clear error or a fresh valid tag', () => {
    check('tags', 800, format, service, date, fc.array(anyRef, { maxLength: 20 }), anyRef, (fmt, svc, d, existing, tag) => {
      const next = nextTag(fmt, svc, d, existing);
      expect(existing).not.toContain(next);
      expect(parseTag(fmt, svc, next)?.date).toBe(d);
      const newest = newestTag(fmt, svc, existing);
      if (newest !== undefined) expect(existing).toContain(newest);
      try {
        const bumped = bumpTag(fmt, svc, tag, existing);
        expect(parseTag(fmt, svc, bumped)?.n).toBeGreaterThan(parseTag(fmt, svc, tag)?.n ?? Infinity);
        expect(existing).not.toContain(bumped);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/does not follow the format/);
      }
    });
  });
});
