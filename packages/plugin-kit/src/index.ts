/**
 * `@pod/plugin-kit`: Pod plugins in TypeScript. `PluginBase` does what every plugin does around its
 * work; the helpers cover incremental imports and log-ins with the owner in the loop; `pod-plugin`
 * (the CLI) makes, installs, runs and builds plugin projects. A real Pod for tests is in
 * `@pod/plugin-kit/testing`.
 */
export {
  PluginBase,
  environmentFromEnv,
  describeError,
  type PluginEnvironment,
  type PluginClass,
  type RunOutcome,
} from './plugin.js';
export { PluginRunItem, PluginItem, AccountItem } from './items.js';
export { findExisting, ImportBatch, parseCursors, type ExistingOptions, type Cursor } from './incremental.js';
export {
  askOwner,
  logInWithPassword,
  logInWithOAuth,
  authorizationCode,
  RunAborted,
  type Tokens,
  type RunContext,
  type WaitOptions,
  type LogInOptions,
  type PasswordStep,
  type PasswordLogIn,
  type OAuthLogIn,
  type OwnerRequest,
} from './auth.js';
export {
  MANIFEST_FILE,
  readManifest,
  findInstalled,
  installPlugin,
  type PluginManifest,
  type Permissions,
  type Access,
} from './manifest.js';
export { createPluginRun, simulateRun, spawnSimulated, waitForRun, readRun, type WaitForRunOptions } from './runs.js';
export { registerCommand, launchableImages, launchAdvice, isLocalPod } from './registry.js';
export { answerRequest, describeRequest, isAsking, type Answer } from './owner.js';
