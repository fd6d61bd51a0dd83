// The last model the user brought, kept in IndexedDB so the next visit opens with it; "forget"
// deletes it. One record: the checkpoint's two files as the page loads them.
import type { CheckpointFiles } from './checkpoint-source.js';

const DB_NAME = 'semseg-web';
const STORE = 'models';
const KEY = 'last';

export interface StoredModel extends CheckpointFiles {
  savedAt: string;
}

function open(factory: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
  });
}

async function transact<T>(
  factory: IDBFactory,
  mode: IDBTransactionMode,
  act: (store: IDBObjectStore) => IDBRequest,
): Promise<T> {
  const db = await open(factory);
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result as T);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
    });
  } finally {
    db.close();
  }
}

export class ModelStore {
  constructor(private readonly factory: IDBFactory | undefined = globalThis.indexedDB) {}

  get available(): boolean {
    return this.factory !== undefined;
  }

  async save(files: CheckpointFiles): Promise<void> {
    if (!this.factory) return;
    const record: StoredModel = {
      source: files.source,
      modelJsonText: files.modelJsonText,
      weights: files.weights,
      savedAt: new Date().toISOString(),
    };
    await transact(this.factory, 'readwrite', (store) => store.put(record, KEY));
  }

  async load(): Promise<StoredModel | null> {
    if (!this.factory) return null;
    const record = await transact<StoredModel | undefined>(this.factory, 'readonly', (store) =>
      store.get(KEY),
    );
    return record ?? null;
  }

  async forget(): Promise<void> {
    if (!this.factory) return;
    await transact(this.factory, 'readwrite', (store) => store.delete(KEY));
  }
}
