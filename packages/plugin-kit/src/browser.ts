/**
 * `@pod/plugin-kit/browser`: the kit's parts for an owner's app in a browser (no file system, no
 * processes): the plugin item types, installing from a manifest, starting runs, answering what a
 * run asks.
 */
export { PluginRunItem, PluginItem, AccountItem, readRun } from './items.js';
export { checkManifest, findInstalled, installPlugin, createPluginRun, type PluginManifest } from './install.js';
export { answerRequest, isAsking, type Answer } from './owner.js';
