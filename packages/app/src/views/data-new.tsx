/** A new item of a type: its declared properties as typed inputs; on save, the item's page. */
import { useState } from 'preact/hooks';
import { dataSource, explain, useData } from '../data/current.js';
import { href } from '../state.js';
import { ItemForm } from './data-form.js';

export function NewItemView({ type }: { type: string }) {
  const schema = useData((source, signal) => source.schema(signal), []);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (schema.error) return <p role="alert">{schema.error}</p>;
  if (!schema.value) return <p aria-live="polite">Reading the schema…</p>;
  const properties = schema.value.declarations
    .filter(({ itemType }) => itemType === type)
    .map(({ name, valueType }) => ({ name, valueType }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="new-title">
      <p class="breadcrumb">
        <a href={href('table', type)}>{type}</a>
      </p>
      <h2 id="new-title">New {type}</h2>
      {properties.length === 0 && (
        <p>
          {type} has no declared properties yet: <a href={href('schema')}>add one in the schema</a>, or create the item
          with none.
        </p>
      )}
      {error && <p role="alert">{error}</p>}
      <ItemForm
        properties={properties}
        initial={{}}
        submitLabel={`Create ${type}`}
        busy={busy}
        onSubmit={async (values) => {
          setBusy(true);
          setError('');
          try {
            const item = await dataSource().create(type, values);
            location.hash = href('item', item.id);
          } catch (caught) {
            setError(explain(caught));
          } finally {
            setBusy(false);
          }
        }}
        onCancel={() => history.back()}
      />
    </section>
  );
}
