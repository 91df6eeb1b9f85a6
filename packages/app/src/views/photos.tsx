/**
 * The owner's photos as a grid of 256 px thumbnails the Pod makes. Virtualized by rows
 * (@tanstack/virtual-core): only rows near the viewport exist, fetch their photos a page at a time and
 * their thumbnails, and free their object URLs when they leave. Opening a photo shows its 1024 px
 * thumbnail and offers the original as a download; no full-size bytes are fetched before that.
 */
import { File as FileItem, Photo } from '@pod/client';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { dataSource, explain } from '../data/current.js';
import { downloadFile } from '../files/transfer.js';
import { session } from '../state.js';

const CELL = 168;
/** Photos per request. */
const PAGE = 60;

/** A Photo's image: the first of its `file` edges (`createPhoto` makes one; the Pod thumbnails it). */
const fileOf = (photo: Photo): FileItem | undefined =>
  photo.file.find((file) => file instanceof FileItem && file.sha256);

/** A thumbnail's object URL while the element lives; freed when it goes. */
function useThumbnail(sha256: string | null | undefined, size: number): { url?: string; error?: string } {
  const [state, setState] = useState<{ url?: string; error?: string }>({});
  useEffect(() => {
    const client = session.value?.client;
    if (!client || !sha256) return;
    const controller = new AbortController();
    let url: string | undefined;
    client.thumbnail(sha256, size, { signal: controller.signal }).then(
      ({ data, mimeType }) => {
        if (controller.signal.aborted) return;
        url = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>], { type: mimeType }));
        setState({ url });
      },
      (error) => !controller.signal.aborted && setState({ error: explain(error) }),
    );
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [sha256, size]);
  return state;
}

function Thumbnail({ photo, onOpen }: { photo: Photo; onOpen(photo: Photo, opener: HTMLElement): void }) {
  const file = fileOf(photo);
  const { url, error } = useThumbnail(file?.sha256, 256);
  const name = file?.filename || 'Photo';
  return (
    <button type="button" class="photo-cell" onClick={(event) => onOpen(photo, event.currentTarget)} title={name}>
      {url ? <img src={url} alt={name} /> : <span class="photo-placeholder">{error ? 'No preview' : '…'}</span>}
    </button>
  );
}

function PhotoDialog({ photo, onClose }: { photo: Photo; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const file = fileOf(photo);
  const { url, error } = useThumbnail(file?.sha256, 1024);
  const [downloadError, setDownloadError] = useState<string>();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const name = file?.filename || 'Photo';
  async function download() {
    const client = session.value?.client;
    if (!client || !file?.sha256) return;
    setDownloadError(undefined);
    try {
      await downloadFile(client, { sha256: file.sha256, filename: file.filename, mimeType: file.mimeType });
    } catch (failure) {
      setDownloadError(`The original could not be downloaded: ${explain(failure)}`);
    }
  }
  return (
    <dialog ref={dialog} class="photo-dialog" aria-label={name} onClose={onClose}>
      <div class="title-row">
        <h2>{name}</h2>
        <button type="button" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
      {url ? <img src={url} alt={name} /> : <p aria-live="polite">{error ?? 'Loading…'}</p>}
      <p>
        {photo.width && photo.height ? `${photo.width} × ${photo.height} pixels. ` : ''}
        <button type="button" onClick={download}>
          Download original
        </button>
      </p>
      {downloadError && <p role="alert">{downloadError}</p>}
    </dialog>
  );
}

export function PhotosView() {
  const scroller = useRef<HTMLElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [width, setWidth] = useState(0);
  /** Pages of photos fetched, being fetched, and failed (not asked again until the owner says so). */
  const pages = useRef({
    photos: new Map<number, Photo[]>(),
    loading: new Set<number>(),
    failed: new Set<number>(),
    /** Bumped when the photos change: a page fetched before that is dropped when it lands. */
    generation: 0,
    stop: new AbortController(),
  });
  const [count, setCount] = useState<number>();
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<{ photo: Photo; opener: HTMLElement }>();
  const columns = Math.max(1, Math.floor(width / CELL));
  const virtualizer = useMemo(
    () =>
      new Virtualizer<HTMLElement, HTMLDivElement>({
        count: 0,
        getScrollElement: () => scroller.current,
        estimateSize: () => CELL,
        scrollToFn: elementScroll,
        observeElementRect: (instance, callback) =>
          observeElementRect(instance, (rect) => {
            setWidth(rect.width);
            callback(rect);
          }),
        observeElementOffset,
        overscan: 2,
        onChange: () => rerender(0),
      }),
    [],
  );

  // The number of photos, again whenever a Photo changes: the grid's height follows it.
  useEffect(() => {
    const controller = new AbortController();
    const query = { type: 'Photo', properties: [], filters: [] };
    const countPhotos = () =>
      dataSource()
        .count(query, controller.signal)
        .then(
          ({ count }) => setCount(count),
          (failure) => !controller.signal.aborted && setError(explain(failure)),
        );
    void countPhotos();
    const unsubscribe = dataSource().subscribe((changed) => {
      if (!changed.some((item) => item.type === 'Photo')) return;
      forget();
      void countPhotos();
    });
    return () => {
      controller.abort();
      pages.current.stop.abort();
      unsubscribe();
    };
  }, []);

  /** Drops every page, to fetch what is in view again. */
  function forget() {
    const state = pages.current;
    state.photos.clear();
    state.loading.clear();
    state.failed.clear();
    state.generation++;
    setError(undefined);
    rerender(0);
  }

  virtualizer.setOptions({ ...virtualizer.options, count: Math.ceil((count ?? 0) / columns) });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  const rows = virtualizer.getVirtualItems();

  // Fetch the pages of photos the rows in view show.
  useEffect(() => {
    const client = session.value?.client;
    if (!client || rows.length === 0) return;
    const state = pages.current;
    const first = Math.floor(((rows[0]?.index ?? 0) * columns) / PAGE);
    const last = Math.floor(((rows.at(-1)?.index ?? 0) * columns + columns - 1) / PAGE);
    for (let page = first; page <= last; page++) {
      if (state.photos.has(page) || state.loading.has(page) || state.failed.has(page)) continue;
      state.loading.add(page);
      const { generation } = state;
      const query = { deleted: false, _offset: page * PAGE, _limit: PAGE };
      client.search(Photo, query, { edges: true, signal: state.stop.signal }).then(
        (found) => {
          if (generation !== state.generation) return;
          state.loading.delete(page);
          state.photos.set(page, found);
          rerender(0);
        },
        (failure) => {
          if (generation !== state.generation || state.stop.signal.aborted) return;
          state.loading.delete(page);
          state.failed.add(page);
          setError(explain(failure));
        },
      );
    }
  });

  const photoAt = (index: number) => pages.current.photos.get(Math.floor(index / PAGE))?.[index % PAGE];
  return (
    <section class="photos" aria-labelledby="photos-title">
      <h2 id="photos-title">Photos</h2>
      <p aria-live="polite">
        {count === undefined ? 'Counting…' : `${count.toLocaleString()} ${count === 1 ? 'photo' : 'photos'}`}
        {count === 0 && '. Upload PNG or JPEG images in Files to see them here.'}
      </p>
      {error && (
        <p role="alert">
          {error}{' '}
          <button type="button" onClick={forget}>
            Try again
          </button>
        </p>
      )}
      <section class="photo-scroller" ref={scroller} aria-label="Photo grid">
        <div class="photo-grid" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {rows.map((row) => (
            <div
              key={row.key}
              class="photo-row"
              style={{ transform: `translateY(${row.start}px)`, height: `${CELL}px` }}
            >
              {Array.from({ length: columns }, (_, column) => row.index * columns + column)
                .filter((index) => index < (count ?? 0))
                .map((index) => {
                  const photo = photoAt(index);
                  return (
                    <div key={photo?.id ?? index}>
                      {photo ? (
                        <Thumbnail photo={photo} onOpen={(opened, opener) => setOpen({ photo: opened, opener })} />
                      ) : (
                        <span class="photo-cell photo-placeholder">…</span>
                      )}
                    </div>
                  );
                })}
            </div>
          ))}
        </div>
      </section>
      {open && (
        <PhotoDialog
          photo={open.photo}
          onClose={() => {
            open.opener.focus();
            setOpen(undefined);
          }}
        />
      )}
    </section>
  );
}
