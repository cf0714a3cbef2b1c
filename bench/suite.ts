/**
 * Test-suite time, reported and never asserted: read from the JSON report that `npm test` writes
 * (.trainyard/test-results.json, see the `test:run` script). Covers the test run only, not setup,
 * type check and build.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';

export interface SuiteResult {
  report: string;
  /** When the report was written. */
  ranAt: string;
  wallSeconds: number;
  tests: number;
  passed: number;
  failed: number;
  files: number;
  slowestFiles: { file: string; seconds: number }[];
}

interface VitestReport {
  startTime: number;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { name: string; startTime: number; endTime: number }[];
}

export function readSuiteTime(file: string, root: string): SuiteResult | { missing: string } {
  if (!existsSync(file)) return { missing: `no test report at ${relative(root, file)}; run \`npm test\` first` };
  const r = JSON.parse(readFileSync(file, 'utf8')) as VitestReport;
  const end = Math.max(...r.testResults.map((f) => f.endTime));
  const files = r.testResults
    .map((f) => ({ file: relative(root, f.name), seconds: (f.endTime - f.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);
  return {
    report: relative(root, file),
    ranAt: statSync(file).mtime.toISOString(),
    wallSeconds: (end - r.startTime) / 1000,
    tests: r.numTotalTests,
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    files: r.testResults.length,
    slowestFiles: files.slice(0, 3),
  };
}
