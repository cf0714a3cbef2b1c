#!/usr/bin/env node
// The `trainyard` command. The TypeScript sources are compiled by `npm run build` (also run by `npm start` and `npm test`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/client/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('trainyard is not built yet: run `npm run build` (or `npm start`) in the Trainyard folder, then try again.');
  process.exit(1);
}
await import(entry.href);
