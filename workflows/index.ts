/** Every workflow the worker runs. This is the bundle's entry point. */
export { releaseTrain } from './releaseTrain.js';
export { cutRelease } from './cutRelease.js';
export { environmentLedger } from './environmentLedger.js';
export { rollbackEnvironment } from './rollbackEnvironment.js';
export { previewEnvironment } from './previewEnvironment.js';
export { preRelease, cutPreRelease } from './preRelease.js';
export { flagRollout } from './flagRollout.js';
export { versionBump } from './versionBump.js';
export { stageFollower } from './stageFollower.js';
