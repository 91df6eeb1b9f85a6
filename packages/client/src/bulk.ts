/**
 * A bulk cut into requests of bounded size. The Pod applies each request in one transaction in
 * the order creates, updates, deletes, edges, searches; entries keep that order across the cut,
 * so requests sent one after another apply everything in the same order.
 */
import type { Payload } from '@pod/protocol';

export type Section = Exclude<keyof Payload<'bulk'>, 'batchId'>;

export interface Entry {
  section: Section;
  /** What goes into the section's list: an item's wire form, a patch, an id, an edge, a query. */
  value: unknown;
  /** Runs once the request holding the entry has committed. */
  committed?: () => void;
}

export interface Part {
  entries: Entry[];
  /** The request's payload as JSON, with its own batchId. */
  json: string;
}

/**
 * Requests whose payload JSON is at most `limit` characters. The whole bulk is serialized once;
 * only if it is too large is it cut, into as many runs of entries as its size asks for, each
 * cut again if still too large. An entry larger than the limit goes alone.
 */
export function splitBulk(entries: Entry[], limit: number, batchId: () => string): Part[] {
  const json = JSON.stringify(bulkPayload(entries, batchId()));
  if (json.length <= limit || entries.length <= 1) return [{ entries, json }];
  const run = Math.ceil(entries.length / Math.ceil(json.length / limit));
  const parts: Part[] = [];
  for (let start = 0; start < entries.length; start += run)
    parts.push(...splitBulk(entries.slice(start, start + run), limit, batchId));
  return parts;
}

/** Entries grouped by section, and the batchId that makes a repeated request apply once. */
function bulkPayload(entries: Entry[], batchId: string): Payload<'bulk'> {
  const payload: Record<string, unknown[]> = {};
  for (const { section, value } of entries) {
    payload[section] ??= [];
    payload[section].push(value);
  }
  return { batchId, ...payload };
}
