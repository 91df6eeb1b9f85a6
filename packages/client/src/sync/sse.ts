/**
 * Server-Sent Events from text as it arrives, parsed by `eventsource-parser` (the WHATWG rules):
 * `fetch` streaming gives the same code in browsers and Node, where `EventSource` can only GET.
 */
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  /** `message` when the stream names none, as `EventSource` has it. */
  event: string;
  data: string;
  /** The event's `id` field, if it had one. */
  id?: string;
}

export class SseParser {
  private completed: SseEvent[] = [];
  private readonly parser = createParser({
    onEvent: ({ event, data, id }) => this.completed.push({ event: event ?? 'message', data, id }),
  });

  /** Takes the next piece of the stream; returns the events it completes. */
  push(text: string): SseEvent[] {
    this.parser.feed(text);
    const events = this.completed;
    this.completed = [];
    return events;
  }
}
