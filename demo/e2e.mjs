#!/usr/bin/env node
// The demo's E2E suite: e2e.mjs --url <base URL>. Exits non-zero when a test fails.
const [flag, base] = process.argv.slice(2);
if (flag !== '--url' || !base) {
  console.error('usage: e2e.mjs --url <base URL>');
  process.exit(2);
}
const tag = process.env.TRAINYARD_TAG;
const failures = [];
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures.push(name);
    console.log(`FAIL ${name}: ${err.message}`);
  }
}
await test('reports the release under test', async () => {
  const body = await (await fetch(`${base}/version`)).json();
  if (body.version !== tag) throw new Error(`version is ${body.version}, expected ${tag}`);
});
await test('is healthy', async () => {
  const res = await fetch(`${base}/health`);
  if (res.status !== 200) throw new Error(`status ${res.status}`);
});
console.log(`${failures.length === 0 ? 'passed' : 'failed'}: ${2 - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
