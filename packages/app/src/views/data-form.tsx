/** The form for an item's properties, shared by create and edit: one typed input per property. */
import { useState } from 'preact/hooks';
import type { Value, ValueType } from '../data/source.js';
import { ValueInput, draftOf, parseDraft } from './data-values.js';

export interface FormProperty {
  name: string;
  valueType: ValueType;
}

interface Props {
  properties: FormProperty[];
  initial: Record<string, unknown>;
  submitLabel: string;
  busy?: boolean;
  /** The properties whose value differs from `initial` (null: erased). */
  onSubmit(changes: Record<string, Value>): void;
  onCancel?(): void;
}

export function ItemForm({ properties, initial, submitLabel, busy, onSubmit, onCancel }: Props) {
  const [drafts, setDrafts] = useState<Record<string, string>>(() =>
    Object.fromEntries(properties.map(({ name, valueType }) => [name, draftOf(initial[name], valueType)])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});

  function submit(event: Event) {
    event.preventDefault();
    const changes: Record<string, Value> = {};
    const found: Record<string, string> = {};
    for (const { name, valueType } of properties) {
      const draft = drafts[name] ?? '';
      if (draft === draftOf(initial[name], valueType)) continue;
      const parsed = parseDraft(draft, valueType);
      if ('error' in parsed) found[name] = parsed.error;
      else if (parsed.value !== null || (initial[name] !== undefined && initial[name] !== null))
        changes[name] = parsed.value;
    }
    setErrors(found);
    const [first] = Object.keys(found);
    if (first) {
      document.getElementById(`field-${first}`)?.focus();
      return;
    }
    onSubmit(changes);
  }

  return (
    <form class="item-form" onSubmit={submit} noValidate>
      {properties.map(({ name, valueType }) => (
        <div class="field" key={name}>
          <label for={`field-${name}`}>
            {name} <span class="value-type">{valueType}</span>
          </label>
          <ValueInput
            id={`field-${name}`}
            valueType={valueType}
            draft={drafts[name] ?? ''}
            onDraft={(draft) => setDrafts((previous) => ({ ...previous, [name]: draft }))}
            invalid={name in errors}
            describedBy={name in errors ? `error-${name}` : undefined}
          />
          {errors[name] && (
            <span class="error" id={`error-${name}`}>
              {errors[name]}
            </span>
          )}
        </div>
      ))}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
