export { createPod, POD_VERSION } from './app.js';
export { listenPod } from './listen.js';
export { defaultConfig, ownerHash, type PodConfig } from './config.js';
export { PodError } from './errors.js';
export {
  LaunchError,
  noRunner,
  type PluginRunner,
  type PluginLaunch,
  type PluginExit,
  type RunningPlugin,
} from './plugins/runner.js';
export { DockerRunner, type DockerRunnerOptions } from './plugins/docker-runner.js';
export { ProcessRunner, type ProcessRunnerOptions } from './plugins/process-runner.js';
export { dockerTestSkip, registerTestAccount, seededRandom, startTestPod, type TestPod } from './testing.js';
