/**
 * The plugin scenarios (scenarios.ts) with the Pod's Docker runner: each fixture is an image built
 * for this test run on the locally built base images. Without an engine or the base images every
 * scenario fails, saying to run .ci/setup-docker.sh; POD_TEST_DOCKER=0 skips them.
 */
import { runnerScenarios } from './scenarios.js';
import { dockerRunner } from './runners.js';

runnerScenarios(dockerRunner());
