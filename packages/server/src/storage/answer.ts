/**
 * Assembling a large answer without holding the event loop or growing memory without bound: items
 * are rendered one by one from a read snapshot, the loop is yielded to other requests every few
 * milliseconds, and a request whose answer outgrows its byte budget is refused with how to page.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { PodError } from '../errors.js';

/** Longest stretch of database work and rendering between two yields to the event loop. */
const SLICE_MS = 4;

/** The bytes one request may answer with, shared by the searches of a bulk. */
export class AnswerBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  spend(text: string) {
    this.used += Buffer.byteLength(text);
    if (this.used > this.maxBytes)
      throw new PodError(
        'invalid',
        `the answer is larger than ${this.maxBytes} bytes (see --max-answer-size); ask for less at once: ` +
          `page a search with "_limit" and "dateServerModified>=" (the next page starts at the last item's dateServerModified), ` +
          `and split a bulk's searches over several requests`,
      );
  }
}

/**
 * An answer as pieces of JSON text of moderate size: sent one after the other, so no answer is ever
 * flattened and encoded in one long synchronous step.
 */
export type AnswerChunks = string[];
const CHUNK_CHARS = 64 * 1024;

/** A JSON array of the items as chunks, taken in time slices; throws the budget's 400 as soon as it is spent. */
export async function collectArray(
  items: Iterable<string>,
  budget: AnswerBudget,
  slice = new TimeSlice(),
): Promise<AnswerChunks> {
  const chunks: AnswerChunks = [];
  let chunk = '[';
  for (const item of items) {
    budget.spend(item);
    chunk += chunk === '[' ? item : `,${item}`;
    if (chunk.length > CHUNK_CHARS) {
      chunks.push(chunk);
      chunk = '';
    }
    await slice.maybeYield();
  }
  chunks.push(`${chunk}]`);
  return chunks;
}

/** Adjacent small chunks merged: a small answer is one string, sent with a Content-Length. */
export function merged(chunks: AnswerChunks): AnswerChunks {
  const out: AnswerChunks = [];
  for (const chunk of chunks) {
    const last = out.length - 1;
    const previous = out[last];
    if (previous !== undefined && previous.length + chunk.length <= CHUNK_CHARS) out[last] = previous + chunk;
    else out.push(chunk);
  }
  return out;
}

/** Yields to the event loop once the current stretch of synchronous work is over SLICE_MS. */
export class TimeSlice {
  private start = performance.now();

  /** True once the current stretch is over SLICE_MS. */
  get over(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  /** Lets the event loop serve others, then starts a new stretch. */
  async pause() {
    await yieldToLoop();
    this.start = performance.now();
  }

  async maybeYield() {
    if (this.over) await this.pause();
  }
}
