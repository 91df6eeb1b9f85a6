/** Running commands from tests, as a developer would in a terminal. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

export interface Result {
  code: number | null;
  output: string;
}

/**
 * Runs a command without blocking this process (a Pod under test may live in it). npm's and the
 * test runner's variables are left out: a nested `node --test` would otherwise report to this one.
 * `env` adds variables; `input` is written to its stdin.
 */
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<Result> {
  return started(command, args, cwd, env, input).closed;
}

/** A command started as `run` starts it: its output so far, and its end. */
export function started(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, input?: string) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^npm_/i.test(name) && name !== 'NODE_TEST_CONTEXT' && name !== 'INIT_CWD',
    ),
  );
  const child = spawn(command, args, { cwd, env: { ...inherited, ...env }, stdio: 'pipe' });
  child.stdin.end(input);
  const state = { output: '' };
  child.stdout.on('data', (chunk) => (state.output += chunk));
  child.stderr.on('data', (chunk) => (state.output += chunk));
  const closed = new Promise<Result>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: state.output }));
  });
  return { child, state, closed };
}

/** The command's output, once it has exited with 0 (else the assertion shows the output). */
export async function ok(result: Promise<Result>): Promise<string> {
  const { code, output } = await result;
  assert.equal(code, 0, output);
  return output;
}

/** npm's settings that make any registry fetch fail at once: for commands that must need none. */
export const NO_REGISTRY = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };
