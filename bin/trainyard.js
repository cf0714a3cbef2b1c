#!/usr/bin/env node
// The `trainyard` command. The TypeScript sources are compiled by `npm run build` (run by `npm ci`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/client/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('trainyard is not built yet: run `npm run build` in the Trainyard folder.');
  process.exit(1);
}
await import(entry.href);
