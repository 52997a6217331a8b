// Persistent storage for the OS worker: OPFS, or IndexedDB where OPFS is missing.
// Both backends expose the same async API over normalised relative paths ("" is the root):
//   read(path) -> Uint8Array, write(path, bytes), stat(path) -> {dir,size,mtime}|null,
//   list(path) -> [{name,dir,size,mtime}], mkdir(path), delete(path), move(src, dst),
//   append(path, bytes) -> offset, readRange(path, offset, length) -> Uint8Array,
//   truncate(path, size). `write` is atomic; `append` is not (a crash may leave a torn tail,
//   which the caller detects and truncates): it serves append-only logs such as the memory store.
// Errors carry a DOMException-style `name`: NotFoundError, QuotaExceededError, ...

const fail = (name, message) => Object.assign(new Error(message), { name });
const split = (path) => (path ? path.split("/") : []);
const WRITE_TIMEOUT_MS = 60_000; // a storage backend that stops answering must not hang the OS

// Chromium reports a refused quota on a writable stream as an AbortError on its pipe.
const quotaAware = (e, path) =>
  e.name === "AbortError" && /data pipe/.test(e.message) ? fail("QuotaExceededError", `no space left to store ${path}`) : e;

// Sync access handles exist only in dedicated workers (the OS worker): in-place writes there,
// a copy-on-write stream elsewhere (the main thread, e.g. the in-browser test harness).
const canSyncAccess = (handle) => typeof handle.createSyncAccessHandle === "function";

function withTimeout(promise, path) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(fail("TimeoutError", `storage did not answer while saving ${path}`)), WRITE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class OpfsStore {
  constructor(root) { this.root = root; this.kind = "opfs"; this.locks = new Map(); }

  // One operation at a time per path: an open sync access handle locks its file exclusively,
  // so a second append, a truncate or a write meanwhile would fail instead of waiting.
  async locked(path, fn) {
    const before = this.locks.get(path) ?? Promise.resolve();
    let release;
    const mine = new Promise((resolve) => { release = resolve; });
    const tail = before.then(() => mine);
    this.locks.set(path, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(path) === tail) this.locks.delete(path);
    }
  }

  async dir(path, create = false) {
    let handle = this.root;
    for (const part of split(path)) {
      handle = await handle.getDirectoryHandle(part, { create });
    }
    return handle;
  }

  async parentOf(path, create = false) {
    const parts = split(path);
    const name = parts.pop();
    return [await this.dir(parts.join("/"), create), name];
  }

  async handle(path) {
    if (!path) return this.root;
    const [parent, name] = await this.parentOf(path);
    try { return await parent.getFileHandle(name); }
    catch (e) {
      if (e.name !== "TypeMismatchError") throw e;
      return await parent.getDirectoryHandle(name);
    }
  }

  async file(path) {
    const handle = await this.handle(path);
    if (handle.kind !== "file") throw fail("TypeMismatchError", `${path} is a folder`);
    return handle;
  }

  async read(path) {
    return await this.locked(path, async () => new Uint8Array(await (await (await this.file(path)).getFile()).arrayBuffer()));
  }

  async readRange(path, offset, length) {
    return await this.locked(path, async () => {
      const file = await (await this.file(path)).getFile();
      return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    });
  }

  async append(path, bytes) {
    return await this.locked(path, async () => {
      const [parent, name] = await this.parentOf(path);
      const handle = await parent.getFileHandle(name, { create: true });
      if (canSyncAccess(handle)) {
        const access = await handle.createSyncAccessHandle();
        const offset = access.getSize();
        try {
          access.write(bytes, { at: offset });
          access.flush();
        } catch (e) {
          try { access.truncate(offset); } catch {} // a refused quota leaves no torn tail
          throw e;
        } finally {
          access.close();
        }
        return offset;
      }
      const offset = (await handle.getFile()).size;
      const stream = await handle.createWritable({ keepExistingData: true });
      try {
        await withTimeout(stream.write({ type: "write", position: offset, data: bytes }).then(() => stream.close()), path);
      } catch (e) {
        await stream.abort().catch(() => {});
        throw quotaAware(e, path);
      }
      return offset;
    });
  }

  async truncate(path, size) {
    return await this.locked(path, async () => {
      const handle = await this.file(path);
      if (canSyncAccess(handle)) {
        const access = await handle.createSyncAccessHandle();
        try {
          if (access.getSize() > size) { access.truncate(size); access.flush(); }
        } finally {
          access.close();
        }
        return;
      }
      if ((await handle.getFile()).size <= size) return;
      const stream = await handle.createWritable({ keepExistingData: true });
      try {
        await withTimeout(stream.truncate(size).then(() => stream.close()), path);
      } catch (e) {
        await stream.abort().catch(() => {});
        throw quotaAware(e, path);
      }
    });
  }

  async write(path, bytes) {
    return await this.locked(path, () => this.replace(path, bytes));
  }

  async replace(path, bytes) {
    // createWritable() writes to a swap file that replaces the original only on close():
    // a crash or reload mid-write leaves the old file intact.
    const [parent, name] = await this.parentOf(path);
    const existed = await parent.getFileHandle(name).then(() => true, () => false);
    const handle = await parent.getFileHandle(name, { create: true });
    const stream = await handle.createWritable({ keepExistingData: false });
    try {
      await withTimeout(stream.write(bytes).then(() => stream.close()), path);
    } catch (e) {
      await stream.abort().catch(() => {});
      if (!existed) await parent.removeEntry(name).catch(() => {});
      throw quotaAware(e, path);
    }
  }

  async stat(path) {
    try {
      const handle = await this.handle(path);
      if (handle.kind === "directory") return { dir: true, size: 0, mtime: 0 };
      const file = await this.locked(path, () => handle.getFile());
      return { dir: false, size: file.size, mtime: file.lastModified / 1000 };
    } catch (e) {
      if (e.name === "NotFoundError" || e.name === "TypeMismatchError") return null;
      throw e;
    }
  }

  async list(path) {
    const dir = await this.dir(path);
    const out = [];
    for await (const [name, handle] of dir.entries()) {
      if (name.endsWith(".crswap")) continue; // Chromium's swap files of unfinished writes
      if (handle.kind === "directory") { out.push({ name, dir: true, size: 0, mtime: 0 }); continue; }
      const file = await this.locked(path ? `${path}/${name}` : name, () => handle.getFile());
      out.push({ name, dir: false, size: file.size, mtime: file.lastModified / 1000 });
    }
    return out;
  }

  async mkdir(path) { await this.dir(path, true); }

  async delete(path) {
    const [parent, name] = await this.parentOf(path);
    await this.locked(path, () => parent.removeEntry(name, { recursive: true }));
  }

  async move(src, dst) {
    const handle = await this.handle(src);
    const [dstParent, dstName] = await this.parentOf(dst);
    if (handle.kind === "file") {
      await this.locked(src, () => handle.move(dstParent, dstName));
      return;
    }
    await this.copyDir(src, dst);
    await this.delete(src);
  }

  async copyDir(src, dst) {
    await this.mkdir(dst);
    for (const entry of await this.list(src)) {
      const from = `${src}/${entry.name}`, to = `${dst}/${entry.name}`;
      if (entry.dir) await this.copyDir(from, to);
      else await this.write(to, await this.read(from));
    }
  }
}

// IndexedDB: one record per path, {path, dir, data, mtime}; a transaction makes each write atomic.
class IdbStore {
  constructor(db, prefix) { this.db = db; this.prefix = prefix; this.kind = "indexeddb"; }

  key(path) { return path ? `${this.prefix}/${path}` : this.prefix; }

  tx(mode, fn) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction("files", mode);
      const store = tx.objectStore("files");
      let result;
      Promise.resolve(fn(store)).then((r) => { result = r; }, reject);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? fail("AbortError", "storage transaction aborted"));
    });
  }

  static req(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async get(path) {
    if (!path) return { dir: true };
    return await this.tx("readonly", (s) => IdbStore.req(s.get(this.key(path))));
  }

  async read(path) {
    const rec = await this.get(path);
    if (!rec) throw fail("NotFoundError", `${path} does not exist`);
    if (rec.dir) throw fail("TypeMismatchError", `${path} is a folder`);
    return new Uint8Array(rec.data);
  }

  async write(path, bytes) {
    const data = bytes.slice().buffer;
    await this.tx("readwrite", (s) => s.put({ dir: false, data, mtime: Date.now() / 1000 }, this.key(path)));
  }

  async append(path, bytes) {
    return await this.update(path, (old) => {
      const joined = new Uint8Array(old.length + bytes.length);
      joined.set(old);
      joined.set(bytes, old.length);
      return [joined, old.length];
    }, true);
  }

  async readRange(path, offset, length) {
    return (await this.read(path)).slice(offset, offset + length);
  }

  async truncate(path, size) {
    await this.update(path, (old) => [old.slice(0, size), undefined], false);
  }

  // Read-modify-write of one file in one transaction: `change(bytes) -> [newBytes, result]`.
  update(path, change, create) {
    const key = this.key(path);
    return this.tx("readwrite", (s) => new Promise((resolve, reject) => {
      const got = s.get(key);
      got.onerror = () => reject(got.error);
      got.onsuccess = () => {
        const rec = got.result;
        if (rec?.dir) return reject(fail("TypeMismatchError", `${path} is a folder`));
        if (!rec && !create) return reject(fail("NotFoundError", `${path} does not exist`));
        const [data, result] = change(rec ? new Uint8Array(rec.data) : new Uint8Array(0));
        s.put({ dir: false, data: data.buffer, mtime: Date.now() / 1000 }, key);
        resolve(result);
      };
    }));
  }

  async stat(path) {
    const rec = await this.get(path);
    if (!rec) return null;
    return { dir: !!rec.dir, size: rec.dir ? 0 : rec.data.byteLength, mtime: rec.mtime ?? 0 };
  }

  async children(path) {
    const base = this.key(path) + "/";
    const range = IDBKeyRange.bound(base, base + "\uffff");
    return await this.tx("readonly", async (s) => {
      const [keys, values] = await Promise.all([IdbStore.req(s.getAllKeys(range)), IdbStore.req(s.getAll(range))]);
      return keys.map((k, i) => [k.slice(base.length), values[i]]);
    });
  }

  async list(path) {
    const out = [];
    for (const [rest, rec] of await this.children(path)) {
      if (rest.includes("/")) continue;
      out.push({ name: rest, dir: !!rec.dir, size: rec.dir ? 0 : rec.data.byteLength, mtime: rec.mtime ?? 0 });
    }
    return out;
  }

  async mkdir(path) {
    await this.tx("readwrite", (s) => s.put({ dir: true, mtime: Date.now() / 1000 }, this.key(path)));
  }

  async delete(path) {
    const base = this.key(path);
    await this.tx("readwrite", (s) => {
      s.delete(base);
      s.delete(IDBKeyRange.bound(base + "/", base + "/\uffff"));
    });
  }

  async move(src, dst) {
    const from = this.key(src), to = this.key(dst);
    const moved = [[from, await this.get(src)], ...(await this.children(src)).map(([rest, rec]) => [`${from}/${rest}`, rec])];
    await this.tx("readwrite", (s) => {
      for (const [key, rec] of moved) {
        s.delete(key);
        s.put(rec, to + key.slice(from.length));
      }
    });
  }
}

async function openIdb() {
  const request = indexedDB.open("llmos", 1);
  request.onupgradeneeded = () => request.result.createObjectStore("files");
  return await IdbStore.req(request);
}

// Errors cross into Pyodide as plain Errors with the DOMException's name: Chromium's
// QuotaExceededError is a DOMException subclass whose rejection Pyodide never resumes from.
const METHODS = ["read", "write", "stat", "list", "mkdir", "delete", "move", "append", "readRange", "truncate"];
function plainErrors(store) {
  const wrapped = { kind: store.kind };
  for (const name of METHODS) {
    wrapped[name] = async (...args) => {
      try {
        return await store[name](...args);
      } catch (e) {
        throw fail(e?.name || "Error", e?.message || String(e));
      }
    };
  }
  return wrapped;
}

// Returns {kind, user, private}: the user volume and the OS-private area (settings, secrets).
// `namespace` keeps separate trees apart (the in-browser tests use a fresh one each).
export async function openStorage({ prefer = "opfs", namespace = "" } = {}) {
  if (prefer !== "indexeddb" && navigator.storage?.getDirectory) {
    try {
      let root = await navigator.storage.getDirectory();
      if (namespace) root = await root.getDirectoryHandle(namespace, { create: true });
      const sub = async (name) => new OpfsStore(await root.getDirectoryHandle(name, { create: true }));
      return { kind: "opfs", user: plainErrors(await sub("user")), private: plainErrors(await sub("os-private")) };
    } catch (e) {
      console.warn("OPFS unavailable, using IndexedDB:", e);
    }
  }
  const db = await openIdb();
  const at = (name) => (namespace ? `${namespace}/${name}` : name);
  return { kind: "indexeddb", user: plainErrors(new IdbStore(db, at("user"))), private: plainErrors(new IdbStore(db, at("os-private"))) };
}
