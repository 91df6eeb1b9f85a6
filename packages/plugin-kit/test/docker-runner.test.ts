/**
 * The plugin scenarios (scenarios.ts) with the Pod's Docker runner: each fixture is an image built
 * for this test run on the locally built base images. Without an engine they are skipped saying
 * to run .ci/setup-docker.sh (required under CI=true); without the base images every scenario fails,
 * saying so; POD_TEST_DOCKER=0 skips them.
 */
import { runnerScenarios } from './scenarios.js';
import { dockerRunner } from './runners.js';

runnerScenarios(await dockerRunner());
