// Shared files for the hibiki web client (docs/protocol.md, "Files"): uploads (a button or a drop
// on the room → request_upload → the browser PUTs the bytes straight to the signed URL with
// XMLHttpRequest, for its progress events → complete_upload), file cards in messages, the room's
// files pane (list_files) and downloads (get_file with download_url, asked at click time: the URL
// lives 30 seconds). Like the rest of the client, user text (file names) is only ever set with
// textContent, never parsed as HTML.
'use strict';

window.hibikiFiles = (() => {
  const UPLOADS_AT_ONCE = 3;  // PUTs in flight; the others wait in the list as "queued"
  const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
  const COMPLETE_ATTEMPTS = 6;  // complete_upload is idempotent: retried over a reconnect (15 s)
  const LIST_LIMIT = 100;       // list_files answers at most the newest 100
  const TRANSIENT = new Set(['disconnected', 'timeout', 'unavailable']);  // worth asking again

  /// A size in human units: "512 B", "1.5 KiB", "23 MiB".
  function formatSize(bytes) {
    if (typeof bytes !== 'number' || !(bytes >= 0)) return '';
    if (bytes < 1024) return `${bytes} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  }

  // Bidirectional-text controls the server lets through (it refuses only C0/C1 controls): shown,
  // not obeyed, so "invoice<U+202E>fdp.exe" cannot pass itself off as "invoiceexe.pdf".
  const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

  /// A file name as shown: its bidi controls written out as ⟨U+XXXX⟩.
  function shownName(name) {
    return String(name).replace(BIDI_CONTROLS, (c) =>
      `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
  }

  // The type the browser guessed when the server will take it (type/subtype[; params], printable
  // ASCII, at most 255 bytes); anything else goes as bytes.
  function contentTypeOf(file) {
    const t = file.type || '';
    return t.length <= 255 && /^[!-~]+\/[!-~]+(\s*;[ -~]*)?$/.test(t) ? t : DEFAULT_CONTENT_TYPE;
  }

  // Only web URLs are followed (a javascript: URL would run in this page).
  function isWebUrl(url) {
    try {
      const u = new URL(url, location.href);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }

  // The store's refusal of a PUT as {code, message}: S3 stores answer an XML <Error>, hibikid's
  // own listener a JSON error for its access rules.
  function storeRefusal(xhr) {
    const text = xhr.responseText || '';
    let code = '';
    let message = '';
    try {
      const data = JSON.parse(text);
      if (data && data.error) { code = String(data.error.code || ''); message = String(data.error.message || ''); }
    } catch {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      code = (doc.querySelector('Error > Code') || {}).textContent || '';
      message = (doc.querySelector('Error > Message') || {}).textContent || '';
    }
    const what = [code, message].filter((s) => s).join(': ') || xhr.statusText || 'no reason given';
    return { code: 'store', message: `the file store refused the upload (HTTP ${xhr.status}): ${what}` };
  }

  /// deps: {request(op, fields) -> Promise, el(tag, props, ...children), nameOf(id),
  /// openRoomId() -> number|null, roomName(roomId), setStatus(text, kind),
  /// showError(prefix, err), formatTime(unix), onOwnUpload(roomId, {message_id, seq}) -> Promise,
  /// onFilesChanged() (the open room's file infos changed: re-render its messages)}.
  function create(deps) {
    const { el } = deps;
    const $ = (id) => document.getElementById(id);

    const files = new Map();    // the open room's known files: file_id -> file object
    let listed = [];            // the files pane's files (after the uploader filter)
    let filter = '';            // '' or an account id (as a string): list_files' account_id
    let members = [];           // the open room's members, for the filter
    const asked = new Set();    // file ids asked for with get_file (cards of files not listed)
    const gone = new Set();     // file ids get_file answered not_found for
    const uploads = [];         // upload records, see share()
    let uploadSeq = 0;
    let listRoom = null;        // the room the pane's list belongs to
    let listedOnce = false;     // the open room's first list_files answered (cards wait for it)
    let listGeneration = 0;     // drops list_files answers overtaken by a newer ask

    // ---- known files -----------------------------------------------------------------------

    function remember(f) {
      if (!f || typeof f.file_id !== 'number') return false;
      const old = files.get(f.file_id);
      files.set(f.file_id, f);
      gone.delete(f.file_id);
      return !old || old.size !== f.size || old.filename !== f.filename;
    }

    // A card's file that the list did not bring (older than the newest 100): one get_file.
    async function ask(roomId, fileId) {
      if (asked.has(fileId)) return;
      asked.add(fileId);
      try {
        const reply = await deps.request('get_file', { room_id: roomId, file_id: fileId });
        if (deps.openRoomId() !== roomId) return;
        if (remember(reply.file)) deps.onFilesChanged();
      } catch (err) {
        if (deps.openRoomId() !== roomId) return;
        if (err.code === 'not_found') { gone.add(fileId); deps.onFilesChanged(); } else asked.delete(fileId);
      }
    }

    // ---- the open room ----------------------------------------------------------------------

    function openRoom(roomId) {
      files.clear();
      asked.clear();
      gone.clear();
      listed = [];
      filter = '';
      members = [];
      listRoom = roomId;
      listedOnce = false;
      $('file-filter').value = '';
      $('file-list').dataset.loaded = 'false';
      renderPane();
      refresh();
    }

    function closeRoom() {
      files.clear();
      listed = [];
      listRoom = null;
      renderPane();
    }

    async function refresh() {
      const roomId = deps.openRoomId();
      if (roomId === null) return;
      const generation = ++listGeneration;
      const fields = { room_id: roomId };
      if (filter) fields.account_id = Number(filter);
      try {
        const reply = await deps.request('list_files', fields);
        if (generation !== listGeneration || deps.openRoomId() !== roomId) return;
        let changed = !listedOnce;  // cards drawn before the list may now ask for the rest
        listedOnce = true;
        for (const f of reply.files || []) changed = remember(f) || changed;
        listed = reply.files || [];
        listRoom = roomId;
        $('file-list').dataset.loaded = 'true';
        renderPane();
        if (changed) deps.onFilesChanged();
      } catch (err) {
        if (err.code === 'disconnected' || generation !== listGeneration || deps.openRoomId() !== roomId) return;
        deps.showError('files', err);
        if (!listedOnce) { listedOnce = true; deps.onFilesChanged(); }  // cards ask one by one
      }
    }

    /// A file_uploaded event (or this page's own completed upload) for the open room.
    function added(roomId, f) {
      if (roomId !== deps.openRoomId() || !f) return;
      const changed = remember(f);
      if (!filter || Number(filter) === f.account_id) {
        const i = listed.findIndex((x) => x.file_id === f.file_id);
        if (i >= 0) listed[i] = f; else listed.push(f);
        listed.sort((a, b) => a.file_id - b.file_id);
        if (listed.length > LIST_LIMIT) listed = listed.slice(listed.length - LIST_LIMIT);
      }
      renderPane();
      if (changed) deps.onFilesChanged();
    }

    /// A message of the open room was deleted: the file it carried is hidden with it.
    function messageDeleted(roomId, messageId) {
      if (roomId !== deps.openRoomId()) return;
      for (const f of [...files.values()]) {
        if (f.message_id === messageId) { files.delete(f.file_id); gone.add(f.file_id); }
      }
      const before = listed.length;
      listed = listed.filter((f) => f.message_id !== messageId);
      if (listed.length !== before) renderPane();
    }

    function setMembers(list) {
      members = list || [];
      renderFilter();
    }

    // ---- the files pane --------------------------------------------------------------------

    function renderFilter() {
      const select = $('file-filter');
      const keep = filter;
      const options = [el('option', { value: '', text: "everyone's files" })];
      for (const m of members) {
        options.push(el('option', { value: String(m.account_id), text: `${deps.nameOf(m.account_id)}'s files` }));
      }
      // An uploader who left the room keeps their files: the filter keeps offering them.
      if (keep && !members.some((m) => String(m.account_id) === keep)) {
        options.push(el('option', { value: keep, text: `${deps.nameOf(Number(keep))}'s files` }));
      }
      select.replaceChildren(...options);
      select.value = keep;
    }

    function renderPane() {
      const list = $('file-list');
      const shown = listRoom === deps.openRoomId() ? [...listed].reverse() : [];  // newest first
      list.replaceChildren(...shown.map((f) => {
        const li = el('li', { className: 'file', test: 'file',
          data: { fileId: String(f.file_id), accountId: String(f.account_id) } });
        const download = el('button', { type: 'button', className: 'file-download', test: 'file-download',
          text: 'download' });
        download.addEventListener('click', () => downloadFile(listRoom, f.file_id, download));
        download.setAttribute('aria-label', `download ${shownName(f.filename)}`);
        li.append(
          el('span', { className: 'file-name', test: 'file-name', text: shownName(f.filename) }),
          el('span', { className: 'file-size', test: 'file-size', text: formatSize(f.size),
            data: { bytes: String(f.size) } }),
          el('span', { className: 'file-meta', test: 'file-uploader', text: deps.nameOf(f.account_id) }),
          el('time', { className: 'file-meta', test: 'file-time', text: deps.formatTime(f.upload_time),
            dateTime: new Date((f.upload_time || 0) * 1000).toISOString() }),
          download);
        return li;
      }));
      list.dataset.count = String(shown.length);
      $('file-count').textContent = shown.length ? `(${shown.length})` : '';
      $('no-files').hidden = shown.length > 0;
      $('no-files').textContent = filter ? 'No files from this member.' : 'No files in this room.';
    }

    // ---- cards in messages -----------------------------------------------------------------

    /// The node that stands for `[download:fileId]name[/download]` in a message of the open room.
    /// The name shown is the server's once known (a message may name a file anything).
    function card(fileId, nameInBody) {
      const roomId = deps.openRoomId();
      const f = files.get(fileId);
      const box = el('div', { className: 'file-card', test: 'file-card', data: { fileId: String(fileId) } });
      box.append(el('span', { className: 'file-card-icon', text: 'FILE' }));
      const info = el('div', { className: 'file-card-info' });
      const name = shownName(f ? f.filename : nameInBody);
      info.append(el('span', { className: 'file-name', test: 'file-name', text: name }));
      if (gone.has(fileId)) {
        box.dataset.state = 'gone';
        info.append(el('span', { className: 'file-size', test: 'file-size', text: 'no longer available' }));
        box.append(info);
        return box;
      }
      info.append(el('span', { className: 'file-size', test: 'file-size', text: f ? formatSize(f.size) : '…',
        data: f ? { bytes: String(f.size) } : {} }));
      box.dataset.state = f ? 'known' : 'loading';
      box.append(info);
      const download = el('button', { type: 'button', className: 'file-download', test: 'file-download',
        text: 'download' });
      download.setAttribute('aria-label', `download ${name}`);
      download.addEventListener('click', () => downloadFile(roomId, fileId, download));
      box.append(download);
      if (!f && roomId !== null && listedOnce) ask(roomId, fileId);
      return box;
    }

    // ---- downloads -------------------------------------------------------------------------

    // The URL is asked for now, at the click: it is valid 30 seconds. Its Content-Disposition
    // (attachment, signed into the URL) makes following it a download: the page stays.
    async function downloadFile(roomId, fileId, button) {
      if (roomId === null) return;
      if (button) button.disabled = true;
      try {
        const reply = await deps.request('get_file', { room_id: roomId, file_id: fileId, download_url: true });
        if (roomId === deps.openRoomId() && remember(reply.file)) deps.onFilesChanged();
        if (!isWebUrl(reply.download_url)) throw { code: 'bad_reply', message: 'the server sent no download URL' };
        const a = el('a', { href: reply.download_url, rel: 'noopener', hidden: true });
        // Same origin (the directory store): the name given here; another origin (S3): the
        // browser takes the signed Content-Disposition's.
        a.download = reply.file ? reply.file.filename : '';
        document.body.append(a);
        a.click();
        a.remove();
        deps.setStatus(`downloading ${reply.file ? shownName(reply.file.filename) : `file ${fileId}`}`);
      } catch (err) {
        if (err.code === 'not_found') { gone.add(fileId); deps.onFilesChanged(); }
        deps.showError('download', err);
      } finally {
        if (button) button.disabled = false;
      }
    }

    // ---- uploads ---------------------------------------------------------------------------

    /// Queues one upload per file into the open room.
    function share(fileList) {
      const roomId = deps.openRoomId();
      if (roomId === null) { deps.setStatus('open a room to share files in it', 'error'); return; }
      const picked = [...fileList];
      if (picked.length === 0) return;
      for (const file of picked) {
        uploads.push({
          key: ++uploadSeq, roomId, file, state: 'queued', loaded: 0, error: '', errorCode: '',
          note: '', fileId: null, putDone: false, xhr: null, row: null,
        });
      }
      renderUploads();
      pump();
    }

    function pump() {
      let free = UPLOADS_AT_ONCE - uploads.filter((u) =>
        u.state === 'requesting' || u.state === 'uploading' || u.state === 'completing').length;
      for (const u of uploads) {
        if (free <= 0) break;
        if (u.state === 'queued') { free--; run(u); }
      }
    }

    function setState(u, s, error = '') {
      u.state = s;
      u.error = error;
      u.note = '';
      renderUploads();
    }

    async function run(u) {
      const contentType = contentTypeOf(u.file);
      const name = u.file.name;
      try {
        if (!u.putDone) {
          setState(u, 'requesting');
          u.loaded = 0;
          const grant = await deps.request('request_upload', {
            room_id: u.roomId, filename: name, size: u.file.size, content_type: contentType,
          });
          u.fileId = grant.file_id;
          if (!isWebUrl(grant.upload_url)) throw { code: 'bad_reply', message: 'the server sent no upload URL' };
          setState(u, 'uploading');
          await put(u, grant.upload_url, contentType);
          u.putDone = true;
        }
        setState(u, 'completing');
        const done = await complete(u);
        setState(u, 'done');
        deps.setStatus(`shared "${shownName(name)}"`);
        try {
          await deps.onOwnUpload(u.roomId, done);
          if (u.roomId === deps.openRoomId()) {
            const got = await deps.request('get_file', { room_id: u.roomId, file_id: u.fileId });
            added(u.roomId, got.file);
          }
        } catch { /* shown by the next refresh */ }
      } catch (err) {
        const code = err && err.code ? err.code : 'error';
        const message = err && err.message ? err.message : String(err);
        u.errorCode = code;
        setState(u, 'error', code === 'store' || code === 'network' || code === 'cancelled'
          ? message : `${code}: ${message}`);
        if (code !== 'cancelled') deps.showError(`upload of "${shownName(name)}"`, err);
      } finally {
        u.xhr = null;
        pump();
      }
    }

    // The bytes go straight to the store: exactly the signed Content-Type, and the file's size as
    // Content-Length (the browser sets it from the body).
    function put(u, url, contentType) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        u.xhr = xhr;
        xhr.open('PUT', url);
        xhr.setRequestHeader('Content-Type', contentType);
        xhr.upload.addEventListener('progress', (e) => {
          u.loaded = e.loaded;
          showProgress(u);
        });
        xhr.addEventListener('load', () => {
          if (xhr.status >= 200 && xhr.status < 300) {
            u.loaded = u.file.size;
            showProgress(u);
            resolve();
          } else {
            reject(storeRefusal(xhr));
          }
        });
        xhr.addEventListener('error', () => reject({ code: 'network', message:
          'the file store could not be reached, or it does not allow this page (CORS)' }));
        xhr.addEventListener('abort', () => reject({ code: 'cancelled', message: 'cancelled' }));
        xhr.send(u.file);
      });
    }

    // The bytes are in the store: completing is retried while the server or its store is away
    // (the row says so meanwhile), and answers the same if an earlier try did complete.
    async function complete(u) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await deps.request('complete_upload', { room_id: u.roomId, file_id: u.fileId });
        } catch (err) {
          if (!TRANSIENT.has(err.code) || attempt >= COMPLETE_ATTEMPTS) throw err;
          u.note = err.code === 'unavailable'
            ? `the file store is unavailable (${err.message}); trying again`
            : 'the connection to the server is down; trying again';
          renderUploads();
          await new Promise((res) => setTimeout(res, 1000 * attempt));
        }
      }
    }

    function cancel(u) {
      if (u.xhr) u.xhr.abort();
      else if (u.state === 'queued') setState(u, 'error', 'cancelled');
    }

    // After a PUT that went through, a failure to complete for a passing reason completes again;
    // any other failure starts over with a new request_upload (and a new URL).
    function retry(u) {
      if (!(u.putDone && TRANSIENT.has(u.errorCode))) {
        u.putDone = false;
        u.fileId = null;
      }
      setState(u, 'queued');
      pump();
    }

    function dismiss(u) {
      const i = uploads.indexOf(u);
      if (i >= 0) uploads.splice(i, 1);
      renderUploads();
    }

    const STATE_TEXT = {
      queued: 'waiting', requesting: 'asking the server', uploading: 'uploading',
      completing: 'finishing', done: 'shared', error: 'failed',
    };

    function showProgress(u) {
      if (!u.row) return;
      const bar = u.row.querySelector('progress');
      bar.max = Math.max(u.file.size, 1);
      bar.value = Math.min(u.loaded, bar.max);
      u.row.dataset.loaded = String(u.loaded);
      const pct = u.file.size > 0 ? Math.floor((100 * u.loaded) / u.file.size) : (u.state === 'done' ? 100 : 0);
      u.row.querySelector('.upload-percent').textContent = `${pct}%`;
    }

    function renderUploads() {
      const open = deps.openRoomId();
      $('upload-list').replaceChildren(...uploads.map((u) => {
        const li = el('li', { className: `upload upload-${u.state}`, test: 'upload',
          data: { state: u.state, name: u.file.name, roomId: String(u.roomId), size: String(u.file.size) } });
        if (u.fileId !== null) li.dataset.fileId = String(u.fileId);
        const head = el('div', { className: 'upload-head' });
        head.append(el('span', { className: 'file-name', test: 'upload-name', text: shownName(u.file.name) }),
          el('span', { className: 'file-size', text: formatSize(u.file.size) }));
        if (u.roomId !== open) {
          head.append(el('span', { className: 'file-meta', text: `to ${deps.roomName(u.roomId)}` }));
        }
        head.append(el('span', { className: 'upload-state', test: 'upload-state', text: STATE_TEXT[u.state] }));
        const bar = el('progress', { className: 'upload-progress', test: 'upload-progress' });
        bar.setAttribute('aria-label', `upload of ${shownName(u.file.name)}`);
        const row = el('div', { className: 'upload-row' }, bar,
          el('span', { className: 'upload-percent', test: 'upload-percent' }));
        if (u.state === 'uploading' || u.state === 'queued') {
          row.append(el('button', { type: 'button', test: 'upload-cancel', text: 'cancel', onclick: () => cancel(u) }));
        }
        if (u.state === 'error') {
          row.append(el('button', { type: 'button', test: 'upload-retry', text: 'retry', onclick: () => retry(u) }));
        }
        if (u.state === 'done' || u.state === 'error') {
          row.append(el('button', { type: 'button', test: 'upload-dismiss', text: 'dismiss',
            onclick: () => dismiss(u) }));
        }
        li.append(head, row);
        if (u.note) {
          li.dataset.note = u.note;
          li.append(el('div', { className: 'upload-note', test: 'upload-note', text: u.note }));
        }
        if (u.error) {
          const why = el('div', { className: 'upload-error', test: 'upload-error', text: u.error });
          why.setAttribute('role', 'alert');
          li.append(why);
        }
        u.row = li;
        showProgress(u);
        return li;
      }));
      $('upload-list').dataset.count = String(uploads.length);
      $('uploads').hidden = uploads.length === 0;
      $('uploads-clear').hidden = !uploads.some((u) => u.state === 'done' || u.state === 'error');
    }

    function clearFinished() {
      for (let i = uploads.length - 1; i >= 0; i--) {
        if (uploads[i].state === 'done' || uploads[i].state === 'error') uploads.splice(i, 1);
      }
      renderUploads();
    }

    // ---- wiring: the button, the picker and drops ------------------------------------------

    function hasFiles(e) {
      return !!e.dataTransfer && [...(e.dataTransfer.types || [])].includes('Files');
    }

    function wire() {
      const input = $('file-input');
      $('attach-btn').addEventListener('click', () => input.click());
      $('uploads-clear').addEventListener('click', clearFinished);
      input.addEventListener('change', () => {
        share(input.files);
        input.value = '';  // the same file may be picked again
      });
      const zone = $('room-main');
      const hint = $('drop-hint');
      let depth = 0;  // dragenter/dragleave pairs of the zone's children
      zone.addEventListener('dragenter', (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        depth++;
        hint.hidden = false;
        zone.classList.add('drop-target');
      });
      zone.addEventListener('dragover', (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      });
      const leave = () => { depth = 0; hint.hidden = true; zone.classList.remove('drop-target'); };
      zone.addEventListener('dragleave', (e) => {
        if (!hasFiles(e)) return;
        depth = Math.max(0, depth - 1);
        if (depth === 0) leave();
      });
      zone.addEventListener('drop', (e) => {
        if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
        e.preventDefault();
        leave();
        share(e.dataTransfer.files);
      });
      // A file dropped anywhere else must not replace the page with the file.
      for (const type of ['dragover', 'drop']) {
        document.addEventListener(type, (e) => {
          if (hasFiles(e) && !zone.contains(e.target)) {
            e.preventDefault();
            e.dataTransfer.dropEffect = 'none';
          }
        });
      }
      $('file-filter').addEventListener('change', () => {
        filter = $('file-filter').value;
        $('file-list').dataset.loaded = 'false';
        refresh();
      });
    }

    /// Forgets everything (log out).
    function reset() {
      for (const u of uploads) if (u.xhr) u.xhr.abort();
      uploads.length = 0;
      renderUploads();
      closeRoom();
    }

    wire();
    return {
      openRoom, closeRoom, refresh, added, messageDeleted, setMembers, card, reset,
      render: () => { renderFilter(); renderPane(); renderUploads(); },
    };
  }

  return { create, formatSize, shownName };
})();
