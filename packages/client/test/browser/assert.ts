/**
 * The part of `node:assert/strict` the shared suites use, for their browser bundle: the same
 * names and the same strictness (Object.is, deep equality that compares prototypes and keys).
 */
import { dequal } from 'dequal';

export class AssertionError extends Error {
  override name = 'AssertionError';
}

const show = (value: unknown) => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

function equal(actual: unknown, expected: unknown, message?: string): void {
  if (!Object.is(actual, expected))
    throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`);
}

function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (!dequal(actual, expected)) throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`);
}

function ok(value: unknown, message?: string): asserts value {
  if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
}

async function rejects(action: Promise<unknown> | (() => Promise<unknown>), message?: string): Promise<void> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch {
    return;
  }
  throw new AssertionError(message ?? 'expected a rejection, but it resolved');
}

const assert = { equal, deepEqual, ok, rejects, AssertionError };
export default assert;
export { equal, deepEqual, ok, rejects };
