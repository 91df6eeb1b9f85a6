/** The table's filters: typed conditions on declared properties, added and removed one by one. */
import { useState } from 'preact/hooks';
import type { Filter, FilterOperator, ValueType } from '../data/source.js';
import type { Column } from './data-table.js';
import { ValueInput, formatValue, parseDraft } from './data-values.js';

/** The operators each value type offers, in words. */
const NUMBER_OPERATORS: [FilterOperator, string][] = [
  ['eq', '='],
  ['ne', '≠'],
  ['gt', '>'],
  ['gte', '≥'],
  ['lt', '<'],
  ['lte', '≤'],
];
const OPERATORS: Record<ValueType, [FilterOperator, string][]> = {
  Text: [
    ['words', 'contains the words'],
    ['eq', 'is exactly'],
  ],
  Integer: NUMBER_OPERATORS,
  Real: NUMBER_OPERATORS,
  Bool: [['eq', 'is']],
  DateTime: [
    ['gte', 'on or after'],
    ['lt', 'before'],
  ],
};

const operatorWords = (valueType: ValueType, op: FilterOperator) =>
  OPERATORS[valueType].find(([candidate]) => candidate === op)?.[1] ?? op;

/** A filter in words: `age ≥ 30`, `title contains the words "tea"`. */
export function describeFilter({ property, op, value }: Filter, columns: Column[]): string {
  const valueType = columns.find(({ name }) => name === property)?.valueType ?? 'Text';
  const shown = typeof value === 'string' ? JSON.stringify(value) : formatValue(value, valueType);
  return `${property} ${operatorWords(valueType, op)} ${shown}`;
}

interface Props {
  columns: Column[];
  filters: Filter[];
  onAdd(filter: Filter): void;
  onRemove(index: number): void;
}

export function FilterBar({ columns, filters, onAdd, onRemove }: Props) {
  const [property, setProperty] = useState('');
  const column = columns.find(({ name }) => name === property) ?? columns[0];
  const [op, setOp] = useState<FilterOperator | ''>('');
  const [draft, setDraft] = useState('');
  const [error, setError] = useState('');
  if (!column) return null;
  const operators = OPERATORS[column.valueType];
  const operator = operators.some(([candidate]) => candidate === op)
    ? (op as FilterOperator)
    : (operators[0]?.[0] ?? 'eq');

  function add(event: Event) {
    event.preventDefault();
    if (!column) return;
    const parsed = parseDraft(draft, column.valueType);
    if ('error' in parsed) return setError(parsed.error);
    if (parsed.value === null || parsed.value === '') return setError('Type a value to filter by.');
    setError('');
    setDraft('');
    onAdd({ property: column.name, op: operator, value: parsed.value });
  }

  return (
    <div class="filters">
      <form class="filter-form" onSubmit={add} aria-label="Add a filter" noValidate>
        <label>
          Property
          <select
            value={column.name}
            onChange={(event) => {
              setProperty(event.currentTarget.value);
              setDraft('');
              setError('');
            }}
          >
            {columns.map(({ name }) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Condition
          <select value={operator} onChange={(event) => setOp(event.currentTarget.value as FilterOperator)}>
            {operators.map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </label>
        <label for="filter-value">
          Value
          <ValueInput
            id="filter-value"
            valueType={column.valueType}
            draft={draft}
            onDraft={setDraft}
            invalid={error !== ''}
            describedBy={error ? 'filter-error' : undefined}
          />
        </label>
        <button type="submit">Add filter</button>
        <span id="filter-error" class="error" role="alert">
          {error}
        </span>
      </form>
      {filters.length > 0 && (
        <ul class="filter-list" aria-label="Filters">
          {filters.map((filter, index) => (
            <li key={`${filter.property}${filter.op}${String(filter.value)}`}>
              {describeFilter(filter, columns)}{' '}
              <button
                type="button"
                onClick={() => onRemove(index)}
                aria-label={`Remove filter ${describeFilter(filter, columns)}`}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
