/**
 * Commit subjects and authors are written by anyone who can push: the changelog built from them
 * travels through workflow payloads and into release notes, so it must stay bounded and one bullet
 * per commit whatever the commits hold.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { clipText, MAX_RENDERED_LENGTH, renderChangelog, type ChangeEntry } from '../../domain/changelog.js';
import { check, nasty, printTally, sized } from './arbitraries.js';

afterAll(printTally);

const text = fc.oneof({ weight: 4, arbitrary: nasty }, { weight: 1, arbitrary: sized(nasty, 1_000, 50_000) });
const entry: fc.Arbitrary<ChangeEntry> = fc.record({
  sha: fc.stringMatching(/^[0-9a-f]{40}$/),
  subject: fc.oneof(text, fc.nat({ max: 999_999_999 }).map((n) => `Fix it (#${n})`), nasty.map((s) => `Merge pull request #12 from ${s}`)),
  author: text,
  date: fc.constant('2026-11-23T10:00:00Z'),
});

describe('changelogs from hostile commits', () => {
  it('clipText gives one line of at most `max` characters', () => {
    check('changelog', 1500, text, fc.integer({ min: 1, max: 500 }), (t, max) => {
      const clipped = clipText(t, max);
      expect(Array.from(clipped).length).toBeLessThanOrEqual(max);
      // eslint-disable-next-line no-control-regex
      expect(clipped).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/);
    });
  });

  it('a rendered changelog stays within its bound, with one line per shown commit', () => {
    check('changelog', 300, fc.array(entry, { maxLength: 300 }), fc.boolean(), text, (entries, truncated, fromTag) => {
      const markdown = renderChangelog({ fromTag, toTag: 'api/v2026.11.23.1', entries, truncated }, { service: 'api', compareUrl: 'https://example.com/compare' });
      expect(markdown.length).toBeLessThanOrEqual(MAX_RENDERED_LENGTH);
      const bullets = markdown.split('\n').filter((l) => l.startsWith('- '));
      expect(bullets.length).toBeLessThanOrEqual(entries.length + 1);
    });
  });
});
