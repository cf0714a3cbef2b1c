/**
 * The workflow bundle. Workers load a prebuilt bundle (built once by `npm run build`), which is
 * what makes start-up fast; bundling at start is the fallback for development.
 */
import { DefaultLogger, bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder, whether this runs from `workers/` (tests) or `dist/workers/`. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Trainyard project root (package.json)');
    dir = parent;
  }
  return dir;
}

export function prebuiltBundlePath(): string {
  return join(projectRoot(), 'dist', 'workflow-bundle.js');
}

export function bundleOptions(): BundleOptions {
  return {
    workflowsPath: join(projectRoot(), 'workflows', 'index.ts'),
    // Sources import `./x.js` (Node ESM style) while the files are `x.ts`.
    webpackConfigHook: (config) => {
      config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
      return config;
    },
  };
}

export async function buildBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({ ...bundleOptions(), logger: new DefaultLogger('WARN') });
  return code;
}
