/**
 * Answers typed by the developer: questions in a terminal (a password without echo), lines piped
 * to stdin, and the prompt `pod-plugin run` shows while its run waits for the owner.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { PodClient } from '@pod/client';
import { describeError } from './plugin.js';
import type { PluginRunItem } from './items.js';
import { answerRequest, isAsking, type Answer } from './owner.js';

export interface QuestionOptions {
  /** Does not echo what is typed (a password). */
  secret?: boolean;
  /** Withdraws the question: it rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Asks one question in the terminal; `secret` does not echo what is typed. Rejects with an AbortError on `signal`. */
export async function question(text: string, options: QuestionOptions = {}): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const terminal = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = terminal.question(text, { signal: options.signal });
    muted = Boolean(options.secret);
    return await answer;
  } finally {
    if (muted) process.stdout.write('\n');
    terminal.close();
  }
}

/** The lines piped to stdin (for scripts: `echo 123456 | pod-plugin answer RUN`). */
export async function stdinLines(): Promise<string[]> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.split(/\r?\n/).filter((line) => line !== '');
}

/** The answer to a request from the command line, the terminal, or stdin, as `pod-plugin answer` takes it. */
export async function readAnswer(request: string | null | undefined, value: string | undefined): Promise<Answer> {
  const credentials = request === 'credentials';
  if (process.stdin.isTTY) {
    const given = value ?? (await question(credentials ? 'username: ' : 'answer: '));
    return { value: given, password: credentials ? await question('password: ', { secret: true }) : undefined };
  }
  // stdin only when the answer is not all on the command line: a script's open stdin never blocks it
  if (value !== undefined && !credentials) return { value };
  const lines = await stdinLines();
  const given = value ?? lines.shift();
  if (!given) throw new Error('no answer: give it as an argument or on stdin');
  return { value: given, password: credentials ? lines[0] : undefined };
}

/**
 * While `pod-plugin run` follows a run in a terminal: a prompt for each request the run makes,
 * withdrawn when the request is answered elsewhere (`pod-plugin answer`, the owner's app) or ends.
 */
export class RequestPrompt {
  #pending?: { key: string; controller: AbortController };

  constructor(private readonly client: PodClient) {}

  /** Shows the run as it is now: a new request gets a prompt, an old one that is gone loses it. */
  update(run: PluginRunItem): void {
    const key = isAsking(run) ? JSON.stringify([run.authRequest, run.authMessage, run.authUrl]) : undefined;
    if (key === this.#pending?.key) return;
    this.close();
    if (key === undefined) return;
    const controller = new AbortController();
    this.#pending = { key, controller };
    void this.#ask(run, controller.signal);
  }

  close(): void {
    this.#pending?.controller.abort();
    this.#pending = undefined;
  }

  async #ask(run: PluginRunItem, signal: AbortSignal): Promise<void> {
    try {
      const credentials = run.authRequest === 'credentials';
      const value = await question(credentials ? 'username: ' : 'your answer: ', { signal });
      const password = credentials ? await question('password: ', { secret: true, signal }) : undefined;
      console.log(`  ${await answerRequest(this.client, run.id, { value, password })}`);
    } catch (error) {
      if (!signal.aborted) console.log(`  could not answer: ${describeError(error)}`);
    }
  }
}
