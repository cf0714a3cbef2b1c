/** `npm run build` step: writes the prebuilt workflow bundle the worker loads at start. */
import { writeFileSync } from 'node:fs';
import { buildBundle, prebuiltBundlePath } from './bundle.js';

const started = Date.now();
const code = await buildBundle();
writeFileSync(prebuiltBundlePath(), code);
console.log(`workflow bundle: ${prebuiltBundlePath()} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
