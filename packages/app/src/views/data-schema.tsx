/** The schema: each type's declared properties and value types, and adding a property (checked first). */
import { PROPERTY_NAME, VALUE_TYPES } from '@pod/protocol';
import { useState } from 'preact/hooks';
import { dataSource, explain, useData } from '../data/current.js';
import type { PropertyDeclaration, ValueType } from '../data/source.js';
import { href } from '../state.js';

const TYPE_NAME = /^[A-Za-z][_A-Za-z0-9]*$/;

export function SchemaView() {
  const schema = useData(
    (source, signal) => source.schema(signal),
    [],
    (changed) => changed.some((item) => item.type === 'ItemPropertySchema'),
  );
  const byType = new Map<string, PropertyDeclaration[]>();
  for (const declaration of schema.value?.declarations ?? [])
    byType.set(declaration.itemType, [...(byType.get(declaration.itemType) ?? []), declaration]);
  const types = [...byType.keys()].sort((a, b) => a.localeCompare(b));
  return (
    <section aria-labelledby="schema-title">
      <h2 id="schema-title">Schema</h2>
      {schema.error && <p role="alert">{schema.error}</p>}
      {schema.value && <AddProperty valueTypes={schema.value.valueTypes} types={types} onAdded={schema.reload} />}
      {types.map((type) => (
        <section key={type} class="schema-type" aria-labelledby={`schema-${type}`}>
          <h3 id={`schema-${type}`}>
            <a href={href('table', type)}>{type}</a>
          </h3>
          <table>
            <thead>
              <tr>
                <th scope="col">Property</th>
                <th scope="col">Value type</th>
              </tr>
            </thead>
            <tbody>
              {(byType.get(type) ?? [])
                .sort((a, b) => a.name.localeCompare(b.name))
                .map(({ name, valueType }) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>{valueType}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </section>
      ))}
    </section>
  );
}

interface AddProps {
  valueTypes: Map<string, ValueType>;
  types: string[];
  onAdded(): void;
}

function AddProperty({ valueTypes, types, onAdded }: AddProps) {
  const [itemType, setItemType] = useState('');
  const [name, setName] = useState('');
  const [valueType, setValueType] = useState<ValueType>('Text');
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  /** What is wrong with the declaration before the Pod is asked, or ''. */
  function check(): string {
    if (!TYPE_NAME.test(itemType.trim()))
      return 'Give the item type a name of letters, digits and _, starting with a letter (such as Note).';
    if (!PROPERTY_NAME.test(name.trim()))
      return 'Give the property a name of letters, digits and _, starting with a letter (such as title).';
    const declared = valueTypes.get(name.trim());
    if (declared && declared !== valueType)
      return `“${name.trim()}” is already a ${declared} property, and a property has one value type in the whole Pod: choose ${declared} or another name.`;
    return '';
  }

  async function add(event: Event) {
    event.preventDefault();
    setStatus('');
    const problem = check();
    setError(problem);
    if (problem) return;
    setBusy(true);
    try {
      await dataSource().addProperty({ itemType: itemType.trim(), name: name.trim(), valueType });
      setStatus(`Added ${valueType} property “${name.trim()}” to ${itemType.trim()}.`);
      setName('');
      onAdded();
    } catch (caught) {
      setError(explain(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="add-property" onSubmit={add} aria-labelledby="add-property-title" noValidate>
      <h3 id="add-property-title">Add a property</h3>
      <label>
        Item type
        <input
          type="text"
          list="schema-types"
          value={itemType}
          onInput={(event) => setItemType(event.currentTarget.value)}
          aria-describedby="add-property-error"
        />
      </label>
      <datalist id="schema-types">
        {types.map((type) => (
          <option key={type} value={type} />
        ))}
      </datalist>
      <label>
        Property name
        <input
          type="text"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          aria-describedby="add-property-error"
        />
      </label>
      <label>
        Value type
        <select value={valueType} onChange={(event) => setValueType(event.currentTarget.value as ValueType)}>
          {VALUE_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Add property
      </button>
      <p id="add-property-error" class="error" role="alert">
        {error}
      </p>
      <p aria-live="polite">{status}</p>
    </form>
  );
}
