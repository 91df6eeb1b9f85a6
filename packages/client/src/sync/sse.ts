/**
 * Server-Sent Events, parsed from text as it arrives (the WHATWG rules, minus `retry`): `fetch`
 * streaming gives the same code in browsers and Node, where `EventSource` can only GET.
 */
export interface SseEvent {
  event: string;
  data: string;
  /** The last id seen on the stream, as the spec carries it over to later events. */
  id?: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private lastId?: string;

  /** Takes the next piece of the stream; returns the events it completes. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    const newline = /\r\n|\r|\n/g;
    let start = 0;
    for (let match; (match = newline.exec(this.buffer)); start = newline.lastIndex) {
      // A \r at the very end may be the first half of a \r\n: wait for more.
      if (match[0] === '\r' && newline.lastIndex === this.buffer.length) break;
      const event = this.line(this.buffer.slice(start, match.index));
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      const event = this.data.length ? { event: this.event || 'message', data: this.data.join('\n'), id: this.lastId } : undefined;
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined; // a comment: heartbeats
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return undefined;
  }
}
