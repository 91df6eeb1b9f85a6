/** A real Pod for the tests, in this process, on a loopback port, with a fresh data directory. */
export { seededRandom, startTestPod as startPod, type TestPod } from '@pod/server';
