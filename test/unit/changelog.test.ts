import { describe, expect, it } from 'vitest';
import {
  clipText,
  MAX_RENDERED_LENGTH,
  prNumberOf,
  renderChangelog,
  type ChangeEntry,
  type Changelog,
} from '../../domain/changelog.js';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

function entry(subject: string, extra: Partial<ChangeEntry> = {}): ChangeEntry {
  return { sha: SHA, subject, author: 'Ada', date: '2024-10-01T09:00:00Z', ...extra };
}

function log(entries: ChangeEntry[], extra: Partial<Changelog> = {}): Changelog {
  return { fromTag: 'api/v2024.10.01.1', toTag: 'api/v2024.10.02.1', entries, truncated: false, ...extra };
}

const bullets = (markdown: string) => markdown.split('\n').filter((l) => l.startsWith('- '));

describe('prNumberOf', () => {
  it.each([
    ['Merge pull request #123 from acme/fix-login', 123],
    ['Fix the login page (#456)', 456],
    ['Fix the login page (#456)  ', 456],
    ["Merge branch 'fix' into 'main' See merge request acme/platform/api!789", 789],
  ])('finds the number in %j', (subject, pr) => {
    expect(prNumberOf(subject)).toBe(pr);
  });

  it.each(['Fix #12 in the middle', 'Bump to (#12) and more', 'Merge pull request from nobody', 'plain', ''])(
    'finds none in %j',
    (subject) => {
      expect(prNumberOf(subject)).toBeUndefined();
    },
  );
});

describe('renderChangelog', () => {
  it('renders a heading, the starting tag and one bullet per change', () => {
    const md = renderChangelog(log([entry('Add /version', { author: 'Grace' }), entry('Start the service')]), { service: 'api' });
    expect(md).toBe(
      [
        '## api/v2024.10.02.1',
        '',
        'Changes since api/v2024.10.01.1 in api.',
        '',
        '- Add /version (a1b2c3d, Grace)',
        '- Start the service (a1b2c3d, Ada)',
        '',
      ].join('\n'),
    );
  });

  it('says "First release" without a starting tag, and links the comparison when given', () => {
    const md = renderChangelog(log([entry('Start')], { fromTag: undefined }), { service: 'api', compareUrl: 'https://forge/compare/a...b' });
    expect(md).toContain('First release of api.');
    expect(md).not.toContain('Changes since');
    expect(md).toContain('Compare: https://forge/compare/a...b');
  });

  it('shows the PR number once, whichever way the subject names it', () => {
    const md = renderChangelog(
      log([
        entry('Fix the login page (#456)'),
        entry('Merge pull request #123 from acme/fix'),
        entry('Tidy up', { pr: 77 }),
        entry('Speed up See merge request acme/api!9'),
      ]),
      { service: 'api' },
    );
    expect(bullets(md)).toEqual([
      '- Fix the login page (#456, a1b2c3d, Ada)',
      '- Merge pull request #123 from acme/fix (a1b2c3d, Ada)',
      '- Tidy up (#77, a1b2c3d, Ada)',
      '- Speed up See merge request acme/api!9 (#9, a1b2c3d, Ada)',
    ]);
  });

  it('drops "Merge branch" noise', () => {
    const md = renderChangelog(
      log([entry("Merge branch 'main' into feature"), entry("Merge remote-tracking branch 'origin/main'"), entry('Real change')]),
      { service: 'api' },
    );
    expect(bullets(md)).toEqual(['- Real change (a1b2c3d, Ada)']);
  });

  it('says so when the range is empty (or holds only noise)', () => {
    expect(renderChangelog(log([]), { service: 'api' })).toContain('\nNo changes.\n');
    expect(renderChangelog(log([entry("Merge branch 'x'")]), { service: 'api' })).toContain('\nNo changes.\n');
  });

  it('caps the bullets at maxEntries (default 500) with "…and N more"', () => {
    const many = Array.from({ length: 620 }, (_, i) => entry(`change ${i}`));
    const byDefault = bullets(renderChangelog(log(many), { service: 'api' }));
    expect(byDefault).toHaveLength(501);
    expect(byDefault.at(-1)).toBe('- …and 120 more');
    const three = bullets(renderChangelog(log(many), { service: 'api', maxEntries: 3 }));
    expect(three).toEqual(['- change 0 (a1b2c3d, Ada)', '- change 1 (a1b2c3d, Ada)', '- change 2 (a1b2c3d, Ada)', '- …and 617 more']);
  });

  it('says when the forge stopped listing older commits', () => {
    const md = renderChangelog(log([entry('a'), entry('b')], { truncated: true }), { service: 'api', maxEntries: 1 });
    expect(bullets(md).at(-1)).toBe('- …and 1 more, and older commits not listed');
    const all = renderChangelog(log([entry('a')], { truncated: true }), { service: 'api' });
    expect(bullets(all).at(-1)).toBe('- …and older commits not listed');
  });

  it('cuts long subjects at 200 characters and keeps control characters out of the list', () => {
    const md = renderChangelog(log([entry(`${'x'.repeat(300)} (#5)`), entry('one\nline\u0000two\ttabs\u001e')]), { service: 'api' });
    const [long, odd] = bullets(md);
    expect(long).toBe(`- ${'x'.repeat(199)}… (#5, a1b2c3d, Ada)`);
    expect(odd).toBe('- one line two tabs (a1b2c3d, Ada)');
  });

  it('stays far below 1 MiB however large the entries and maxEntries are', () => {
    const huge = Array.from({ length: 5000 }, (_, i) => entry(`${'🚂'.repeat(1000)} ${i}`, { author: 'é'.repeat(1000) }));
    const md = renderChangelog(log(huge), { service: 'api', maxEntries: 100_000 });
    expect(md.length).toBeLessThanOrEqual(MAX_RENDERED_LENGTH);
    expect(new TextEncoder().encode(md).length).toBeLessThan(512 * 1024);
    expect(bullets(md).at(-1)).toMatch(/^- …and \d+ more$/);
  });
});

describe('clipText', () => {
  it('never splits an astral character', () => {
    expect(clipText('🚂🚂🚂', 2)).toBe('🚂…');
    expect(clipText('🚂🚂', 2)).toBe('🚂🚂');
  });
});
