import { describe, expect, it } from 'vitest';
import { bumpTag, formatTag, newestTag, nextTag, parseTag, refNameProblem, tagFormatProblem } from '../../domain/tags.js';

const FORMAT = '{service}/v{yyyy}.{MM}.{dd}.{n}';

describe('tag naming', () => {
  it('forms the seed tag api/v2024.10.02.1', () => {
    expect(formatTag(FORMAT, 'api', { date: '2024-10-02', n: 1 })).toBe('api/v2024.10.02.1');
  });

  it('parses a tag back and ignores tags of other services or formats', () => {
    expect(parseTag(FORMAT, 'api', 'api/v2024.10.02.12')).toEqual({ date: '2024-10-02', n: 12 });
    expect(parseTag(FORMAT, 'api', 'web/v2024.10.02.1')).toBeUndefined();
    expect(parseTag(FORMAT, 'api', 'api/v2024.10.02')).toBeUndefined();
    expect(parseTag(FORMAT, 'a.i', 'abi/v2024.10.02.1')).toBeUndefined();
  });

  it('takes the next free number of the release date', () => {
    const existing = ['api/v2024.10.02.1', 'api/v2024.10.02.3', 'api/v2024.10.01.7', 'web/v2024.10.02.9'];
    expect(nextTag(FORMAT, 'api', '2024-10-02', existing)).toBe('api/v2024.10.02.4');
    expect(nextTag(FORMAT, 'api', '2024-10-03', existing)).toBe('api/v2024.10.03.1');
  });

  it('bumps .1 to .2 for a re-tag, skipping tags that exist (tags are never moved)', () => {
    expect(bumpTag(FORMAT, 'api', 'api/v2024.10.02.1')).toBe('api/v2024.10.02.2');
    expect(bumpTag(FORMAT, 'api', 'api/v2024.10.02.1', ['api/v2024.10.02.2'])).toBe('api/v2024.10.02.3');
    expect(() => bumpTag(FORMAT, 'api', 'v1.2.3')).toThrow(/does not follow the format/);
  });

  it.each([
    ['', 'is empty'],
    ['a..b', '".."'],
    ['-rf', 'starts with "-"'],
    ['has space', 'space'],
    ['ctl\u0007', 'control character'],
    ['x.lock', '.lock'],
    ['a/', 'empty path component'],
    ['x@{1}', '"@{"'],
    ['x'.repeat(201), 'longer than'],
  ])('rejects the ref name %j', (name, why) => {
    expect(refNameProblem(name)).toContain(why);
  });

  it('accepts ordinary refs', () => {
    expect(refNameProblem('api/v2024.10.02.1')).toBeUndefined();
    expect(refNameProblem('main')).toBeUndefined();
  });

  it('checks formats: unknown tokens, missing tokens, invalid refs', () => {
    expect(tagFormatProblem(FORMAT)).toBeUndefined();
    expect(tagFormatProblem('v{yyyy}.{MM}.{dd}.{build}')).toMatch(/unknown token.*\{build\}/);
    expect(tagFormatProblem('v{yyyy}.{MM}.{dd}')).toMatch(/\{n\}/);
    expect(tagFormatProblem('bad tag {yyyy}.{MM}.{dd}.{n}')).toMatch(/not valid git refs/);
  });

  it('finds the newest release tag by date, then number (not by string order)', () => {
    expect(newestTag(FORMAT, 'api', ['api/v2024.10.02.9', 'api/v2024.10.02.10', 'api/v2024.10.01.99', 'web/v2025.01.01.1', 'v9'])).toBe('api/v2024.10.02.10');
    expect(newestTag(FORMAT, 'api', ['web/v2024.10.02.1'])).toBeUndefined();
  });
});
