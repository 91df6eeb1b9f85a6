/**
 * A runner for suites written against node:test's `describe`/`it`, to run them where node:test is
 * not (a browser page): `collect` gathers the cases without running any, `runCases` runs them in
 * order and reports each by its full name, so that node:test can report it again as its own case.
 */
import type { Harness } from '../local-store-suite.js';

export interface Case {
  /** The enclosing describe names, outermost first. */
  path: string[];
  name: string;
  run: () => Promise<void>;
}

export interface CaseResult {
  path: string[];
  name: string;
  /** The failure's message and stack; absent when the case passed. */
  error?: string;
}

export function collect(define: (harness: Harness) => void): Case[] {
  const cases: Case[] = [];
  const path: string[] = [];
  define({
    describe(name, body) {
      path.push(name);
      try {
        body();
      } finally {
        path.pop();
      }
    },
    it(name, run) {
      cases.push({ path: [...path], name, run });
    },
  });
  return cases;
}

export async function runCases(cases: Case[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const { path, name, run } of cases) {
    try {
      await run();
      results.push({ path, name });
    } catch (error) {
      const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
      results.push({ path, name, error: text });
    }
  }
  return results;
}
