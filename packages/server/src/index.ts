export { createPod, POD_VERSION } from './app.js';
export { defaultConfig, ownerHash, type PodConfig } from './config.js';
export { PodError } from './errors.js';
export type { PluginRunner, PluginLaunch, LaunchReport } from './plugins/runner.js';
