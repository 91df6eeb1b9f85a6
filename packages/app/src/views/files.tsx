/**
 * The owner's files: every File item (name, type, size, date), a page at a time, each downloadable;
 * uploads from a file picker or dropped on the page, with each file's progress shown and the list
 * following through the live feed.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { explain, useData } from '../data/current.js';
import type { DataItem, RowQuery } from '../data/source.js';
import { type UploadStage, downloadFile, uploadBrowserFile } from '../files/transfer.js';
import { href, session } from '../state.js';

const PAGE = 100;
/** Newest first: a file just uploaded is at the top, whatever the number of files. */
const FILE_QUERY: RowQuery = {
  type: 'File',
  properties: ['filename', 'mimeType', 'size', 'sha256'],
  sort: { property: 'dateCreated', descending: true },
  filters: [],
};

/** Bytes in words: 1.5 MB. */
export function formatBytes(bytes: unknown): string {
  if (typeof bytes !== 'number') return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

interface Transfer {
  id: number;
  name: string;
  bytes: number;
  stage: UploadStage | 'failed';
  error?: string;
}

let nextTransfer = 0;

const STAGE_WORDS: Record<Transfer['stage'], string> = {
  reading: 'hashing',
  uploading: 'uploading',
  done: 'stored',
  failed: 'failed',
};

export function FilesView() {
  const [limit, setLimit] = useState(PAGE);
  const files = useData(
    (source, signal) => source.rows(FILE_QUERY, 0, limit, signal),
    [limit],
    (changed) => changed.some((item) => item.type === 'File'),
  );
  const [transfers, setTransfers] = useState<Transfer[]>([]);
  const [downloadError, setDownloadError] = useState<string>();
  const [dragging, setDragging] = useState(false);

  async function upload(picked: globalThis.File[]) {
    const client = session.value?.client;
    if (!client || picked.length === 0) return;
    const batch = picked.map(
      (file): Transfer => ({ id: nextTransfer++, name: file.name, bytes: file.size, stage: 'reading' }),
    );
    setTransfers((shown) => [...shown, ...batch]);
    const update = (id: number, change: Partial<Transfer>) =>
      setTransfers((shown) => shown.map((transfer) => (transfer.id === id ? { ...transfer, ...change } : transfer)));
    // one after another: the Pod gets whole files in order, and a failure stops none of the others
    for (const [index, file] of picked.entries()) {
      const { id } = batch[index] as Transfer;
      try {
        await uploadBrowserFile(client, file, (stage) => update(id, { stage }));
      } catch (error) {
        update(id, { stage: 'failed', error: explain(error) });
      }
    }
    files.reload();
  }
  const uploadLatest = useRef(upload);
  uploadLatest.current = upload;

  // Files dropped anywhere on the page are uploaded (the browser would otherwise open them and leave the app).
  useEffect(() => {
    const over = (event: DragEvent) => {
      if (!event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      setDragging(true);
    };
    const leave = (event: DragEvent) => {
      if (!event.relatedTarget) setDragging(false);
    };
    const drop = (event: DragEvent) => {
      if (!event.dataTransfer?.types.includes('Files')) return;
      event.preventDefault();
      setDragging(false);
      void uploadLatest.current([...event.dataTransfer.files]);
    };
    addEventListener('dragover', over);
    addEventListener('dragleave', leave);
    addEventListener('drop', drop);
    return () => {
      removeEventListener('dragover', over);
      removeEventListener('dragleave', leave);
      removeEventListener('drop', drop);
    };
  }, []);

  async function download(item: DataItem) {
    const client = session.value?.client;
    if (!client || typeof item.sha256 !== 'string') return;
    setDownloadError(undefined);
    try {
      await downloadFile(client, {
        sha256: item.sha256,
        filename: typeof item.filename === 'string' ? item.filename : undefined,
        mimeType: typeof item.mimeType === 'string' ? item.mimeType : undefined,
      });
    } catch (error) {
      setDownloadError(`${String(item.filename ?? item.sha256)} could not be downloaded: ${explain(error)}`);
    }
  }

  const doneBytes = transfers.filter(({ stage }) => stage === 'done').reduce((sum, { bytes }) => sum + bytes, 0);
  const totalBytes = transfers.reduce((sum, { bytes }) => sum + bytes, 0);
  const rows = files.value ?? [];
  return (
    <section class={`files${dragging ? ' dragging' : ''}`} aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      <div class="upload">
        <label class="button" for="upload-input">
          Upload files
        </label>
        <input
          id="upload-input"
          class="visually-hidden"
          type="file"
          multiple
          onChange={(event) => {
            const input = event.currentTarget;
            void upload([...(input.files ?? [])]);
            input.value = '';
          }}
        />
        <span>or drop files on this page.</span>
      </div>
      {transfers.length > 0 && (
        <section aria-label="Uploads" class="transfers">
          <progress max={totalBytes || 1} value={doneBytes} aria-label="Uploaded" />
          <ul aria-live="polite">
            {transfers.map((transfer) => (
              <li key={transfer.id} class={`transfer transfer-${transfer.stage}`}>
                {transfer.name} ({formatBytes(transfer.bytes)}): {STAGE_WORDS[transfer.stage]}
                {transfer.error && <span role="alert"> — {transfer.error} Try again.</span>}
              </li>
            ))}
          </ul>
        </section>
      )}
      {files.error && <p role="alert">{files.error}</p>}
      {downloadError && <p role="alert">{downloadError}</p>}
      {files.value && rows.length === 0 && <p>No files yet. Upload one above.</p>}
      {rows.length > 0 && (
        <div class="file-scroller">
          <table class="file-table" aria-label="Files">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="file-type">
                  Type
                </th>
                <th scope="col">Size</th>
                <th scope="col" class="file-added">
                  Added
                </th>
                <th scope="col">
                  <span class="visually-hidden">Download</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((item) => {
                const name = typeof item.filename === 'string' && item.filename ? item.filename : String(item.sha256);
                return (
                  <tr key={item.id}>
                    <td class="file-name">
                      <a href={href('item', item.id)}>{name}</a>
                    </td>
                    <td class="file-type">{typeof item.mimeType === 'string' ? item.mimeType : '—'}</td>
                    <td>{formatBytes(item.size)}</td>
                    <td class="file-added">{new Date(item.dateCreated).toLocaleString()}</td>
                    <td>
                      <button type="button" onClick={() => download(item)} aria-label={`Download ${name}`}>
                        Download
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {rows.length === limit && (
        <button type="button" onClick={() => setLimit(limit + PAGE)}>
          Show more files
        </button>
      )}
    </section>
  );
}
