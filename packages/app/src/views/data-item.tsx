/**
 * One item: every property, its edges both ways grouped by name (each a link), edit with typed inputs,
 * delete with confirmation. A save applies only to the version that was opened: when the item changed
 * on the Pod meanwhile (the live feed says so at once; the Pod refuses the save otherwise), both
 * versions are shown and the owner chooses.
 */
import { useRef, useState } from 'preact/hooks';
import { dataSource, explain, useData } from '../data/current.js';
import type { DataItem, EdgeLink, Value, ValueType } from '../data/source.js';
import { syncState } from '../data/sync-state.js';
import { labelOf } from '../data/source.js';
import { href } from '../state.js';
import { type FormProperty, ItemForm } from './data-form.js';
import { formatValue } from './data-values.js';

const BASE = ['id', 'type', 'dateCreated', 'dateModified', 'dateServerModified', 'deleted'];

type Mode =
  | { name: 'view' }
  | { name: 'edit'; from: DataItem }
  | { name: 'conflict'; theirs: DataItem; mine: Record<string, Value> };

/** A value's type when the schema does not say (a property of another type's declaration). */
const guessType = (value: unknown): ValueType =>
  typeof value === 'boolean'
    ? 'Bool'
    : typeof value === 'number'
      ? Number.isInteger(value)
        ? 'Integer'
        : 'Real'
      : 'Text';

export function ItemView({ id }: { id: string }) {
  const [mode, setMode] = useState<Mode>({ name: 'view' });
  const [changedMeanwhile, setChangedMeanwhile] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const modeRef = useRef(mode);
  modeRef.current = mode;
  const linked = useRef(new Set<string>());
  const loaded = useData(
    (source, signal) => source.item(id, signal),
    [id],
    (changed) => {
      const current = modeRef.current;
      if (current.name !== 'view') {
        const opened = current.name === 'edit' ? current.from : current.theirs;
        if (changed.some((item) => item.id === id && item.dateServerModified !== opened.dateServerModified))
          setChangedMeanwhile(true);
        return false;
      }
      // a new edge to this item changes only its source and the edge item: any edge item reads it again
      return changed.some((item) => item.id === id || item.type === 'Edge' || linked.current.has(item.id));
    },
  );
  const schema = useData((source, signal) => source.schema(signal), []);
  const deleteDialog = useRef<HTMLDialogElement>(null);
  const deleteButton = useRef<HTMLButtonElement>(null);

  if (loaded.error) return <p role="alert">{loaded.error}</p>;
  if (!loaded.value) {
    if (loaded.loading) return <p aria-live="polite">Opening the item…</p>;
    return (
      <p role="alert">
        There is no item {JSON.stringify(id)}: it may have been deleted. <a href={href('types')}>See all types</a>
      </p>
    );
  }
  const { item, outgoing, incoming } = loaded.value;
  linked.current = new Set([...outgoing, ...incoming].flatMap((link) => [link.item.id, link.edgeId]));
  const valueTypes = schema.value?.valueTypes ?? new Map<string, ValueType>();
  const properties: FormProperty[] = [
    ...new Set([
      ...(schema.value?.declarations ?? []).filter(({ itemType }) => itemType === item.type).map(({ name }) => name),
      ...Object.keys(item).filter((key) => !BASE.includes(key)),
    ]),
  ]
    .sort()
    .map((name) => ({ name, valueType: valueTypes.get(name) ?? guessType(item[name]) }));

  async function save(changes: Record<string, Value>, expected: number) {
    setBusy(true);
    setError('');
    try {
      const saved = await dataSource().update(id, changes, expected);
      if ('conflict' in saved) {
        setMode({ name: 'conflict', theirs: saved.conflict, mine: changes });
        return;
      }
      setChangedMeanwhile(false);
      setMode({ name: 'view' });
      setStatus('Saved.');
      loaded.reload();
    } catch (caught) {
      setError(explain(caught));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await dataSource().delete(id);
      deleteDialog.current?.close();
      location.hash = href('table', item.type);
    } catch (caught) {
      setError(explain(caught));
      deleteDialog.current?.close();
    } finally {
      setBusy(false);
    }
  }

  return (
    <article class="item" aria-labelledby="item-title">
      <p class="breadcrumb">
        <a href={href('table', item.type)}>{item.type}</a>
      </p>
      <h2 id="item-title">{labelOf(item)}</h2>
      <p aria-live="polite" class="status">
        {status}
      </p>
      {error && <p role="alert">{error}</p>}
      {syncState.value.conflicts.some((conflict) => conflict.id === id) && (
        <p class="warning">
          A change you made here met a newer version on the Pod and waits for you:{' '}
          <a href={href('conflicts')}>settle the conflict</a>.
        </p>
      )}
      {mode.name === 'view' && (
        <>
          <div class="actions">
            <button
              type="button"
              onClick={() => {
                setStatus('');
                setChangedMeanwhile(false);
                setMode({ name: 'edit', from: item });
              }}
            >
              Edit
            </button>
            <button type="button" class="danger" ref={deleteButton} onClick={() => deleteDialog.current?.showModal()}>
              Delete
            </button>
          </div>
          <Properties item={item} properties={properties} />
        </>
      )}
      {mode.name === 'edit' && (
        <>
          {changedMeanwhile && (
            <p role="alert" class="warning">
              This item was changed on the Pod after you opened it. When you save, you will see both versions and
              choose.
            </p>
          )}
          <ItemForm
            properties={properties}
            initial={mode.from}
            submitLabel="Save"
            busy={busy}
            onSubmit={(changes) => save(changes, mode.from.dateServerModified)}
            onCancel={() => {
              setMode({ name: 'view' });
              loaded.reload();
            }}
          />
        </>
      )}
      {mode.name === 'conflict' && (
        <ConflictView
          opened={item}
          theirs={mode.theirs}
          mine={mode.mine}
          properties={properties}
          busy={busy}
          onKeepMine={() => save(mode.mine, mode.theirs.dateServerModified)}
          onTakeTheirs={() => {
            setMode({ name: 'view' });
            setChangedMeanwhile(false);
            setStatus('Your changes were discarded; this is the version on the Pod.');
            loaded.reload();
          }}
          onEditAgain={() => {
            setChangedMeanwhile(false);
            setMode({ name: 'edit', from: mode.theirs });
          }}
        />
      )}
      <Edges title="Edges from this item" links={outgoing} arrow="→" />
      <Edges title="Edges to this item" links={incoming} arrow="←" />
      <dialog
        ref={deleteDialog}
        aria-labelledby="delete-title"
        onClose={() => deleteButton.current?.focus()}
        class="confirm"
      >
        <h3 id="delete-title">Delete this {item.type}?</h3>
        <p>
          “{labelOf(item)}” will be deleted from your Pod, and its edges with it. Other devices learn of it when they
          sync.
        </p>
        <div class="actions">
          <button type="button" class="danger" disabled={busy} onClick={remove}>
            Delete for good
          </button>
          <button type="button" onClick={() => deleteDialog.current?.close()}>
            Keep it
          </button>
        </div>
      </dialog>
    </article>
  );
}

function Properties({ item, properties }: { item: DataItem; properties: FormProperty[] }) {
  return (
    <dl class="properties" aria-label="Properties">
      {properties.map(({ name, valueType }) => (
        <div key={name}>
          <dt>
            {name} <span class="value-type">{valueType}</span>
          </dt>
          <dd>
            {item[name] === undefined || item[name] === null ? <em>no value</em> : formatValue(item[name], valueType)}
          </dd>
        </div>
      ))}
      {BASE.map((name) => (
        <div key={name} class="base">
          <dt>{name}</dt>
          <dd>{formatValue(item[name], name.startsWith('date') ? 'DateTime' : undefined)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Edges({ title, links, arrow }: { title: string; links: EdgeLink[]; arrow: string }) {
  const groups = new Map<string, EdgeLink[]>();
  for (const link of links) groups.set(link.name, [...(groups.get(link.name) ?? []), link]);
  return (
    <section class="edges" aria-label={title}>
      <h3>{title}</h3>
      {groups.size === 0 && <p class="muted">None.</p>}
      {[...groups].map(([name, group]) => (
        <div key={name} class="edge-group">
          <h4>
            {arrow} {name}
          </h4>
          <ul>
            {group.map((link) => (
              <li key={link.edgeId}>
                <a href={href('item', link.item.id)}>{labelOf(link.item)}</a>{' '}
                <span class="muted">{link.item.type}</span>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

interface ConflictProps {
  opened: DataItem;
  theirs: DataItem;
  mine: Record<string, Value>;
  properties: FormProperty[];
  busy: boolean;
  onKeepMine(): void;
  onTakeTheirs(): void;
  onEditAgain(): void;
}

function ConflictView({
  opened,
  theirs,
  mine,
  properties,
  busy,
  onKeepMine,
  onTakeTheirs,
  onEditAgain,
}: ConflictProps) {
  const differs = properties.filter(({ name }) => name in mine || theirs[name] !== opened[name]);
  return (
    <section class="conflict" role="alert" aria-labelledby="conflict-title">
      <h3 id="conflict-title">This item changed on the Pod while you edited it</h3>
      <p>Nothing was overwritten. Compare the versions and choose.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Property</th>
            <th scope="col">When you opened it</th>
            <th scope="col">On the Pod now</th>
            <th scope="col">Yours</th>
          </tr>
        </thead>
        <tbody>
          {differs.map(({ name, valueType }) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{formatValue(opened[name], valueType)}</td>
              <td>{formatValue(theirs[name], valueType)}</td>
              <td>{name in mine ? formatValue(mine[name], valueType) : <em>unchanged</em>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <button type="button" disabled={busy} onClick={onKeepMine}>
          Save mine over theirs
        </button>
        <button type="button" disabled={busy} onClick={onTakeTheirs}>
          Discard mine, keep theirs
        </button>
        <button type="button" disabled={busy} onClick={onEditAgain}>
          Edit their version
        </button>
      </div>
    </section>
  );
}
