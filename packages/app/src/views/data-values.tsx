/** Values shown and typed: display text by value type, and inputs that follow the value type. */
import type { Value, ValueType } from '../data/source.js';

/** Cells show at most this many characters; the item's page shows all. */
const CELL_LIMIT = 80;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Milliseconds as the `datetime-local` input's local time (seconds and milliseconds kept). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}` +
    `:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function formatValue(value: unknown, valueType?: ValueType): string {
  if (value === null || value === undefined) return '';
  if (valueType === 'DateTime' && typeof value === 'number') return new Date(value).toLocaleString();
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export function truncate(text: string, limit = CELL_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** A value as its input's text. */
export function draftOf(value: unknown, valueType: ValueType): string {
  if (value === null || value === undefined) return '';
  if (valueType === 'DateTime' && typeof value === 'number') return toLocalInput(value);
  return String(value);
}

/** An input's text as a value of its type (empty: no value), or an error saying what to type. */
export function parseDraft(draft: string, valueType: ValueType): { value: Value } | { error: string } {
  if (valueType === 'Text') return { value: draft === '' ? null : draft };
  const text = draft.trim();
  if (text === '') return { value: null };
  switch (valueType) {
    case 'Integer': {
      const n = Number(text);
      return Number.isSafeInteger(n) ? { value: n } : { error: 'Type a whole number, such as 42.' };
    }
    case 'Real': {
      const n = Number(text);
      return Number.isFinite(n) ? { value: n } : { error: 'Type a number, such as 3.5.' };
    }
    case 'Bool':
      return text === 'true' || text === 'false' ? { value: text === 'true' } : { error: 'Choose yes or no.' };
    case 'DateTime': {
      const ms = new Date(text).getTime();
      return Number.isFinite(ms) ? { value: ms } : { error: 'Pick a date and time.' };
    }
  }
}

interface InputProps {
  id: string;
  valueType: ValueType;
  draft: string;
  onDraft(draft: string): void;
  invalid?: boolean;
  describedBy?: string;
}

/** The input for one value type: text, whole or decimal number, yes/no, or a local date and time. */
export function ValueInput({ id, valueType, draft, onDraft, invalid, describedBy }: InputProps) {
  const common = {
    id,
    'aria-invalid': invalid ? ('true' as const) : undefined,
    'aria-describedby': describedBy,
  };
  const onInput = (event: Event) => onDraft((event.currentTarget as HTMLInputElement).value);
  switch (valueType) {
    case 'Bool':
      return (
        <select {...common} value={draft} onChange={onInput}>
          <option value="">(no value)</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      );
    case 'Integer':
      return <input {...common} type="number" step="1" value={draft} onInput={onInput} />;
    case 'Real':
      return <input {...common} type="number" step="any" value={draft} onInput={onInput} />;
    case 'DateTime':
      return <input {...common} type="datetime-local" step="0.001" value={draft} onInput={onInput} />;
    case 'Text':
      return draft.includes('\n') ? (
        <textarea {...common} rows={4} value={draft} onInput={onInput} />
      ) : (
        <input {...common} type="text" value={draft} onInput={onInput} />
      );
  }
}
