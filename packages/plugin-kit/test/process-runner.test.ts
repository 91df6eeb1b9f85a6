/** The plugin scenarios (scenarios.ts) with the Pod's process runner: each image is a command on this machine. */
import { runnerScenarios } from './scenarios.js';
import { processRunner } from './runners.js';

runnerScenarios(processRunner());
