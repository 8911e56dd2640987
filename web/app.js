// hibiki web client: one page, no build step, speaking ws-protocol-v1 (and its extensions:
// names, room types, contacts, tasks, files — the last in files.js) over /ws. User text is only
// ever placed with textContent / value, never parsed as HTML (message notation goes through
// notation.js, which builds nodes).
'use strict';

(() => {
  const TOKEN_KEY = 'hibiki.token';
  const REQUEST_TIMEOUT_MS = 15000;
  const HISTORY_PAGE = 50;
  const SEARCH_PAGES = 20;  // older pages loaded to reach a search result before jumping to it
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  // Chatwork's room icon presets (update_room's icon_preset); each has a picture in img/icon/.
  // Ops after which my_status may answer other counts (see request()).
  const COUNTS_CHANGED_BY = new Set(['mark_read', 'mark_unread', 'add_task', 'set_task_status',
    'leave_room', 'delete_room', 'remove_member', 'set_members', 'accept_contact']);
  const ICON_PRESETS = ['group', 'check', 'document', 'meeting', 'event', 'project', 'business',
    'study', 'security', 'star', 'idea', 'heart', 'magcup', 'beer', 'music', 'sports', 'travel'];

  const $ = (id) => document.getElementById(id);

  // ---- state ---------------------------------------------------------------------------------

  const state = {
    token: localStorage.getItem(TOKEN_KEY) || '',
    me: null,               // {account_id, name}
    ws: null,
    wsReady: false,         // authenticated
    wantConnection: false,  // false after log out: no reconnect
    everAuthed: false,      // a later auth is a reconnect and triggers sync
    nextId: 1,
    pending: new Map(),     // request id -> {resolve, reject, timer}
    backoffMs: BACKOFF_MIN_MS,
    reconnectTimer: null,
    rooms: new Map(),       // room_id -> room record, see roomRecord()
    // A list_rooms reply may be older than a push that arrived while it was on its way (the
    // reply and the push take different paths). Every room push and every drop takes the next
    // tick; refreshRooms ignores what its reply says about a room changed after it asked.
    roomTick: 0,
    droppedAt: new Map(),   // room_id -> tick at which this page dropped the room
    openRoomId: null,
    searchTarget: null,     // {roomId, messageId}: the message a search result opened
    myRoomId: null,         // the account's "my chat" (from `me`)
    names: new Map(),       // account_id -> display name, from every reply that carries one
    askedNames: new Set(),  // ids already asked for with get_profiles (strangers stay unknown)
    formerNames: new Map(), // account_id -> Set of names it had earlier in this page's life
    contacts: [],           // from `contacts`: {account_id, room_id, name, ...}
    requests: [],           // from `incoming_requests`
    myTasks: [],            // from `my_tasks`
    members: [],            // the open room's members: {account_id, role, name}
    roomTasks: [],          // the open room's tasks
  };

  function roomRecord(id) {
    let r = state.rooms.get(id);
    if (!r) {
      r = {
        room_id: id, name: `room ${id}`, role: '', type: 'group', unread_num: 0, mention_num: 0,
        icon_preset: 'group',    // from list_rooms (details), get_room, room_updated
        last_update_time: 0,     // newest message (list_rooms details, pushes): sorts the list
        peer: null,              // the other account of a direct chat
        description: '',         // from get_room / room_updated
        lastSeq: 0,              // highest room event seq seen (for sync after a reconnect)
        seen: new Set(),         // seqs already applied, so a sync replay does not apply twice
        messages: new Map(),     // message_id -> message object (only kept for the open room)
        hasOlder: false,
        lastMarked: null,        // newest message_id we sent mark_read for
      };
      state.rooms.set(id, r);
    }
    return r;
  }

  // The room is no longer this account's (left, removed, deleted): forget it, and remember when.
  function dropRoom(id) {
    state.rooms.delete(id);
    state.droppedAt.set(id, ++state.roomTick);
  }

  // message ids are decimal strings that may exceed 2^53 in principle: compare as BigInt.
  function cmpMsgId(a, b) {
    const x = BigInt(a), y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function randomClientMsgId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- names ---------------------------------------------------------------------------------

  // The display name of an account; unknown ones are asked for (get_profiles) and shown by id
  // until the answer comes.
  function nameOf(id) {
    if (state.me && id === state.me.account_id) return state.me.name;
    const n = state.names.get(id);
    if (n) return n;
    askName(id);
    return `account ${id}`;
  }

  let renderAllTimer = null;
  function learnName(id, name) {
    if (typeof id !== 'number' || typeof name !== 'string' || name === '') return;
    const old = state.names.get(id);
    if (old === name) return;
    if (old) {
      // Text written under an old name ("[To:2]bob") still reads as that person's name.
      if (!state.formerNames.has(id)) state.formerNames.set(id, new Set());
      state.formerNames.get(id).add(old);
    }
    state.names.set(id, name);
    if (state.me && id === state.me.account_id) state.me.name = name;
    // A rename (or a first name) changes every place that shows it: render once, soon.
    if (!renderAllTimer) renderAllTimer = setTimeout(() => { renderAllTimer = null; renderAll(); }, 0);
  }

  let askTimer = null;
  const toAsk = new Set();
  function askName(id) {
    if (state.askedNames.has(id) || !state.wsReady) return;
    state.askedNames.add(id);
    toAsk.add(id);
    if (askTimer) return;
    askTimer = setTimeout(async () => {
      askTimer = null;
      const ids = [...toAsk].slice(0, 1000);
      ids.forEach((x) => toAsk.delete(x));
      try {
        const reply = await request('get_profiles', { account_ids: ids });
        for (const p of reply.profiles || []) learnName(p.account_id, p.name);
      } catch (err) {
        ids.forEach((x) => state.askedNames.delete(x));  // ask again later
      }
    }, 0);
  }

  function roomDisplayName(r) {
    if (r.type === 'my') return r.name || 'My Chat';
    if (r.type === 'direct' && !r.name) return r.peer !== null ? nameOf(r.peer) : 'direct chat';
    return r.name;
  }

  function renderAll() {
    if (!state.me) return;
    $('me-name').textContent = state.me.name;
    renderRooms();
    if (state.openRoomId !== null) {
      $('room-title').textContent = roomDisplayName(roomRecord(state.openRoomId));
      renderMessages(false);
      renderMembers();
      renderRoomTasks();
      files.render();
    }
    renderContacts();
    renderRequests();
    renderMyTasks();
  }

  function el(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'test') e.dataset.test = v;
      else if (k === 'data') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else e[k] = v;
    }
    e.append(...children);
    return e;
  }

  // ---- shared files (files.js): uploads, file cards, the files pane, downloads --------------

  const files = window.hibikiFiles.create({
    request, el, nameOf, formatTime, setStatus, showError,
    openRoomId: () => state.openRoomId,
    roomName: (roomId) => (state.rooms.has(roomId) ? roomDisplayName(state.rooms.get(roomId)) : `room ${roomId}`),
    onFilesChanged: () => renderMessages(false),
    onOwnUpload: async (roomId, done) => {
      // Pushes skip this connection: the file's message (seq - 1) and file_uploaded (seq) are
      // applied here.
      const r = state.rooms.get(roomId);
      if (!r) return;
      r.seen.add(done.seq - 1);
      r.seen.add(done.seq);
      r.last_update_time = Math.max(r.last_update_time, Math.floor(Date.now() / 1000));
      renderRooms();
      await showOwnMessage(roomId, done.message_id);
      if (state.openRoomId === roomId) markNewestRead(roomId);
    },
  });

  // ---- search (search.js): the box, its results, a click opening the room at the message ----

  const search = window.hibikiSearch.create({
    request, el, nameOf, learnName, formatTime, showError,
    roomName: (roomId) => (state.rooms.has(roomId) ? roomDisplayName(state.rooms.get(roomId)) : `room ${roomId}`),
    openAt: (roomId, messageId) => openRoomAt(roomId, messageId),
  });

  /// Opens `roomId` with `messageId` loaded (older pages as needed), scrolled to and marked.
  async function openRoomAt(roomId, messageId) {
    if (!state.rooms.has(roomId)) { setStatus(`room #${roomId} is not in your rooms any more`); return; }
    state.searchTarget = { roomId, messageId };
    if (state.openRoomId !== roomId) await openRoom(roomId);
    if (state.openRoomId !== roomId) return;
    const r = roomRecord(roomId);
    for (let pages = 0; !r.messages.has(messageId) && r.hasOlder && pages < SEARCH_PAGES; pages++) {
      await loadOlder();
      if (state.openRoomId !== roomId) return;
    }
    if (!r.messages.has(messageId)) {
      // Far back: the page that ends with it (the gap before the newest pages stays).
      try {
        const before = (BigInt(messageId) + 1n).toString();
        const reply = await request('history', { room_id: roomId, before, limit: HISTORY_PAGE });
        if (state.openRoomId !== roomId) return;
        for (const m of reply.messages || []) putMessage(r, m);
      } catch (err) {
        showError('history', err);
        return;
      }
    }
    renderMessages(false);
    jumpToMessage(roomId, messageId);
  }

  // ---- status line and connection indicator ------------------------------------------------

  let statusTimer = null;
  function setStatus(text, kind = 'info') {
    const el = $('status');
    el.textContent = text;
    el.dataset.kind = kind;
    clearTimeout(statusTimer);
    if (kind !== 'error' && text) statusTimer = setTimeout(() => { el.textContent = ''; }, 4000);
  }
  function showError(prefix, err) {
    const code = err && err.code ? err.code : 'error';
    const msg = err && err.message ? err.message : String(err);
    setStatus(`${prefix}: ${code}: ${msg}`, 'error');
  }
  function setConnState(s) {
    const el = $('conn-state');
    el.dataset.state = s;
    el.textContent = s;
  }

  // ---- WebSocket transport -------------------------------------------------------------------

  function wsUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  function connect() {
    if (!state.token || state.ws) return;
    state.wantConnection = true;
    setConnState('connecting');
    const ws = new WebSocket(wsUrl());
    state.ws = ws;
    ws.onopen = () => authenticate(ws);
    ws.onmessage = (e) => onFrame(e.data);
    ws.onclose = (e) => onClose(ws, e);
    ws.onerror = () => { /* onclose follows and handles it */ };
  }

  function onClose(ws, e) {
    if (state.ws !== ws) return;
    state.ws = null;
    state.wsReady = false;
    for (const [, p] of state.pending) {
      clearTimeout(p.timer);
      p.reject({ code: 'disconnected', message: 'connection closed' });
    }
    state.pending.clear();
    setConnState('offline');
    if (!state.wantConnection) return;
    if (e.code === 1008) {
      setStatus('the server closed the connection (policy)', 'error');
    }
    const delay = Math.round(state.backoffMs * (0.5 + Math.random() * 0.5));
    state.backoffMs = Math.min(state.backoffMs * 2, BACKOFF_MAX_MS);
    setConnState(`reconnecting in ${Math.ceil(delay / 1000)}s`);
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function request(op, fields = {}) {
    return new Promise((resolve, reject) => {
      const ws = state.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject({ code: 'disconnected', message: 'not connected' });
        return;
      }
      const id = state.nextId++;
      const timer = setTimeout(() => {
        state.pending.delete(id);
        reject({ code: 'timeout', message: `no reply to ${op}` });
      }, REQUEST_TIMEOUT_MS);
      state.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ id, op, ...fields }));
    }).then((reply) => {
      // Pushes skip the connection that made a change: its own changes to the counts over all
      // rooms are asked for again here.
      if (COUNTS_CHANGED_BY.has(op)) refreshMyStatus();
      return reply;
    });
  }

  function onFrame(text) {
    let f;
    try { f = JSON.parse(text); } catch { setStatus('unreadable frame from server', 'error'); return; }
    if (f && typeof f.ev === 'string') { onEvent(f); return; }
    if (f && 're' in f) {
      const p = state.pending.get(f.re);
      if (!p) {
        if (f.ok === false) showError('server', f.error);
        return;
      }
      state.pending.delete(f.re);
      clearTimeout(p.timer);
      if (f.ok) p.resolve(f); else p.reject(f.error || { code: 'internal', message: 'no error' });
    }
  }

  async function authenticate(ws) {
    try {
      const r = await request('auth', { token: state.token });
      if (state.ws !== ws) return;
      state.me = { account_id: r.account_id, name: r.name };
      state.names.set(r.account_id, r.name);
      state.askedNames.clear();  // names may have changed while we were away
      state.wsReady = true;
      state.backoffMs = BACKOFF_MIN_MS;
      setConnState('online');
      showChat();
      const reconnect = state.everAuthed;
      state.everAuthed = true;
      await loadMe();
      if (reconnect) await resync();
      await Promise.all([refreshRooms(), refreshContacts(), refreshRequests(), refreshMyTasks(),
        refreshMyStatus()]);
      ensurePeers();
      if (state.openRoomId !== null) {
        if (reconnect) {
          await markNewestRead(state.openRoomId);
          refreshMembers();  // members, roles and names may have changed while we were away
          refreshRoomTasks();
          files.refresh();
        } else {
          await openRoom(state.openRoomId);
        }
      }
    } catch (err) {
      if (err && err.code === 'unauthenticated') {
        setStatus('that token was not accepted; please sign up or paste another', 'error');
        logout(false);
      } else if (err && err.code !== 'disconnected') {
        showError('auth', err);
      }
    }
  }

  // After a reconnect: ask for every room event since the last one we saw.
  async function resync() {
    const since = {};
    for (const r of state.rooms.values()) since[String(r.room_id)] = r.lastSeq;
    try {
      await request('sync', { since });
    } catch (err) {
      showError('sync', err);
    }
  }

  // ---- events --------------------------------------------------------------------------------

  function onEvent(f) {
    switch (f.ev) {
      case 'synced':
        renderRooms();
        return;
      case 'gap': {
        const r = roomRecord(f.room_id);
        r.lastSeq = Math.max(r.lastSeq, f.seq);
        if (state.openRoomId === f.room_id) openRoom(f.room_id);
        refreshRooms();
        return;
      }
      case 'read': {
        const r = state.rooms.get(f.room_id);
        if (!r) return;
        r.unread_num = f.unread_num;
        r.mention_num = f.mention_num;
        renderRooms();
        refreshMyStatus();
        return;
      }
      case 'contact_request':
        setStatus(`contact request from ${state.names.get(f.account_id) || `account ${f.account_id}`}`);
        refreshRequests();
        return;
      case 'contact_added':
        refreshContacts();
        refreshRooms();
        return;
      case 'account_updated':
        // Someone we share a room or a contact with (or this account, from any tab) was
        // renamed: every place that shows the name re-renders.
        if (f.account) learnName(f.account.account_id, f.account.name);
        return;
      default:
        break;
    }
    if (typeof f.room_id !== 'number' || typeof f.seq !== 'number') return;
    // A room this page already dropped (its own delete_room answered first) stays dropped.
    if (f.ev === 'room_deleted' && !state.rooms.has(f.room_id)) return;
    const r = roomRecord(f.room_id);
    r.pushedAt = ++state.roomTick;
    if (r.seen.has(f.seq)) return;  // already applied (a sync replay, or our own reply)
    r.seen.add(f.seq);
    // Any room event may change the counts over all rooms (messages, tasks, leaving, deleting).
    refreshMyStatus();
    r.lastSeq = Math.max(r.lastSeq, f.seq);
    const isOpen = state.openRoomId === f.room_id;

    switch (f.ev) {
      case 'room_created': {
        r.name = f.name;
        // Made just now: the newest room until list_rooms gives the server's time.
        if (!r.last_update_time) r.last_update_time = Math.floor(Date.now() / 1000);
        if (f.type) r.type = f.type;
        const members = Array.isArray(f.members) ? f.members : [];
        const mine = members.find((m) => state.me && m.account_id === state.me.account_id);
        if (mine && mine.role) r.role = mine.role;
        if (r.type === 'direct') {
          const other = members.find((m) => state.me && m.account_id !== state.me.account_id);
          if (other) r.peer = other.account_id;
        }
        renderRooms();
        break;
      }
      case 'room_updated':
        r.name = f.name;
        r.description = f.description || '';
        if (f.icon_preset) r.icon_preset = f.icon_preset;
        renderRooms();
        if (isOpen) renderRoomHeader();
        break;
      case 'room_deleted':
        dropRoom(f.room_id);
        if (isOpen) closeRoom();
        renderRooms();
        refreshMyTasks();
        setStatus(`room "${roomDisplayName(r)}" was deleted`);
        break;
      case 'member_added':
        if (state.me && f.account_id === state.me.account_id) {
          if (f.role) r.role = f.role;
          refreshRooms();  // learn the name and counts of a room we were just added to
          if (isOpen) renderRoomHeader();
        } else if (isOpen) {
          setStatus(`${nameOf(f.account_id)} is now ${f.role}`);
        }
        if (isOpen) refreshMembers();
        break;
      case 'member_removed':
        if (state.me && f.account_id === state.me.account_id) {
          dropRoom(f.room_id);
          if (isOpen) closeRoom();
          renderRooms();
          refreshMyTasks();
        } else if (isOpen) {
          refreshMembers();
          refreshRoomTasks();  // the member's tasks left with them
        }
        break;
      case 'task_added':
      case 'task_updated': {
        const t = f.task;
        if (!t) break;
        if (isOpen) {
          const i = state.roomTasks.findIndex((x) => x.task_id === t.task_id);
          if (i >= 0) state.roomTasks[i] = t; else state.roomTasks.push(t);
          renderRoomTasks();
        }
        if (state.me && t.account && t.account.account_id === state.me.account_id) refreshMyTasks();
        break;
      }
      case 'message_created': {
        const m = f.message;
        r.last_update_time = Math.max(r.last_update_time, m.send_time || 0);
        if (m.account) learnName(m.account.account_id, m.account.name);
        const fromOther = !state.me || m.account_id !== state.me.account_id;
        const known = r.messages.has(m.message_id);
        if (isOpen) {
          putMessage(r, m);
          renderMessages(true);
          if (document.visibilityState === 'visible') markNewestRead(r.room_id);
          else if (fromOther && !known) r.unread_num += 1;
        } else if (fromOther) {
          r.unread_num += 1;
        }
        renderRooms();
        break;
      }
      case 'message_updated':
        if (f.message.account) learnName(f.message.account.account_id, f.message.account.name);
        if (isOpen) { putMessage(r, f.message); renderMessages(false); }
        break;
      case 'file_uploaded':
        files.added(f.room_id, f.file);
        break;
      case 'message_deleted':
        files.messageDeleted(f.room_id, f.message_id);
        if (isOpen) {
          const old = r.messages.get(f.message_id);
          if (old) {
            putMessage(r, { ...old, body: '', deleted: true });
            renderMessages(false);
          }
        }
        break;
      default:
        break;
    }
  }

  // Keeps the newest version of a message: pushes and history replies may cross.
  function putMessage(r, m) {
    const old = r.messages.get(m.message_id);
    if (old) {
      if (old.deleted && !m.deleted) return;
      if (!m.deleted && (m.update_time || 0) < (old.update_time || 0)) return;
    }
    r.messages.set(m.message_id, m);
  }

  // ---- rooms ---------------------------------------------------------------------------------

  async function refreshRooms() {
    try {
      const askedAt = state.roomTick;
      const reply = await request('list_rooms', { details: true });
      const ids = new Set();
      for (const x of reply.rooms || []) {
        ids.add(x.room_id);
        // Dropped after we asked (a push said we left it): the reply is older than that.
        if ((state.droppedAt.get(x.room_id) || 0) > askedAt) continue;
        state.droppedAt.delete(x.room_id);
        const r = roomRecord(x.room_id);
        r.name = x.name;
        r.role = x.role;
        if (x.type) r.type = x.type;
        if (x.icon_preset) r.icon_preset = x.icon_preset;
        if (typeof x.last_update_time === 'number') r.last_update_time = x.last_update_time;
        r.unread_num = x.unread_num;
        r.mention_num = x.mention_num;
        r.lastSeq = Math.max(r.lastSeq, x.last_seq || 0);
      }
      // Rooms we have left (or were removed from) while disconnected.
      // A room a push added after we asked is newer than the reply and stays.
      for (const [id, r] of [...state.rooms]) {
        if (!ids.has(id) && (r.pushedAt || 0) <= askedAt) {
          state.rooms.delete(id);
          if (state.openRoomId === id) closeRoom();
        }
      }
      renderRooms();
    } catch (err) {
      if (err.code !== 'disconnected') showError('list_rooms', err);
    }
  }

  // The picture of a room: its icon preset's for a group, the person picture for my and direct
  // chats (files of the web root, as the REST API's icon_path and avatar_image_url).
  function roomIconSrc(r) {
    if (r.type !== 'group') return 'img/avatar.svg';
    return `img/icon/${ICON_PRESETS.includes(r.icon_preset) ? r.icon_preset : 'group'}.svg`;
  }

  function roomIcon(r) {
    const img = el('img', { className: 'room-icon', test: 'room-icon' });
    img.src = roomIconSrc(r);
    img.alt = '';
    img.dataset.icon = r.type === 'group' ? r.icon_preset : r.type;
    return img;
  }

  function renderRooms() {
    const list = $('room-list');
    // My chat first, then direct chats, then groups; each with the most recently active first
    // (last_update_time, as Chatwork lists rooms), the newer room first on a tie.
    const rank = { my: 0, direct: 1, group: 2 };
    const rooms = [...state.rooms.values()].sort((a, b) =>
      ((rank[a.type] ?? 2) - (rank[b.type] ?? 2)) ||
      (b.last_update_time - a.last_update_time) || (b.room_id - a.room_id));
    list.replaceChildren(...rooms.map((r) => {
      const li = document.createElement('li');
      li.className = 'room-item';
      li.dataset.test = 'room-item';
      li.dataset.roomId = String(r.room_id);
      li.dataset.unread = String(r.unread_num);
      li.dataset.type = r.type;
      li.classList.add(`type-${r.type}`);
      if (r.room_id === state.openRoomId) li.classList.add('selected');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'room-open';
      btn.dataset.test = 'room-open';
      const name = document.createElement('span');
      name.className = 'room-name';
      name.dataset.test = 'room-name';
      name.textContent = roomDisplayName(r);
      const typeTag = el('span', { className: 'room-type', test: 'room-type',
        text: r.type === 'my' ? 'me' : r.type === 'direct' ? 'direct' : 'group' });
      const idTag = document.createElement('span');
      idTag.className = 'room-id';
      idTag.textContent = `#${r.room_id}`;
      btn.append(roomIcon(r), typeTag, name, idTag);
      if (r.room_id === state.openRoomId) btn.setAttribute('aria-current', 'true');
      if (r.unread_num > 0) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.dataset.test = 'unread-badge';
        badge.textContent = String(r.unread_num);
        if (r.mention_num > 0) badge.classList.add('mention');
        btn.append(badge);
      }
      btn.addEventListener('click', () => openRoom(r.room_id));
      li.append(btn);
      return li;
    }));
    $('no-rooms').hidden = rooms.length > 0;
  }

  async function openRoom(roomId) {
    const r = roomRecord(roomId);
    if (state.searchTarget && state.searchTarget.roomId !== roomId) state.searchTarget = null;
    state.openRoomId = roomId;
    r.messages = new Map();
    r.hasOlder = false;
    r.lastMarked = null;
    $('room-empty').hidden = true;
    $('room-open').hidden = false;
    state.members = [];
    state.roomTasks = [];
    renderRoomHeader();
    $('messages').dataset.roomId = String(roomId);
    $('messages').dataset.loaded = 'false';
    $('member-list').dataset.loaded = 'false';
    $('room-task-list').dataset.loaded = 'false';
    renderRooms();
    renderMessages(true);
    renderMembers();
    renderRoomTasks();
    refreshMembers();
    refreshRoomTasks();
    files.openRoom(roomId);
    loadRoomInfo();
    try {
      const reply = await request('history', { room_id: roomId, limit: HISTORY_PAGE });
      if (state.openRoomId !== roomId) return;
      for (const m of reply.messages || []) {
        if (m.account) learnName(m.account.account_id, m.account.name);
        putMessage(r, m);
      }
      r.hasOlder = (reply.messages || []).length >= HISTORY_PAGE;
      $('messages').dataset.loaded = 'true';
      renderMessages(true);
      await markNewestRead(roomId);
    } catch (err) {
      if (err.code !== 'disconnected') showError('history', err);
    }
  }

  function closeRoom() {
    state.openRoomId = null;
    state.members = [];
    state.roomTasks = [];
    files.closeRoom();
    $('room-open').hidden = true;
    $('room-empty').hidden = false;
    $('messages').replaceChildren();
  }

  async function loadOlder() {
    const roomId = state.openRoomId;
    if (roomId === null) return;
    const r = roomRecord(roomId);
    const ids = [...r.messages.keys()].sort(cmpMsgId);
    if (ids.length === 0) return;
    try {
      const reply = await request('history', { room_id: roomId, before: ids[0], limit: HISTORY_PAGE });
      if (state.openRoomId !== roomId) return;
      for (const m of reply.messages || []) {
        if (m.account) learnName(m.account.account_id, m.account.name);
        putMessage(r, m);
      }
      r.hasOlder = (reply.messages || []).length >= HISTORY_PAGE;
      const scroller = $('message-scroller');
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      renderMessages(false);
      scroller.scrollTop = scroller.scrollHeight - fromBottom;  // keep the reader's place
    } catch (err) {
      showError('load older', err);
    }
  }

  async function markNewestRead(roomId) {
    const r = state.rooms.get(roomId);
    if (!r || r.messages.size === 0) return;
    const newest = [...r.messages.keys()].sort(cmpMsgId).pop();
    if (r.lastMarked !== null && cmpMsgId(newest, r.lastMarked) <= 0 && r.unread_num === 0) return;
    r.lastMarked = newest;
    try {
      const reply = await request('mark_read', { room_id: roomId, message_id: newest });
      r.unread_num = reply.unread_num;
      r.mention_num = reply.mention_num;
      renderRooms();
    } catch (err) {
      if (err.code !== 'disconnected') showError('mark_read', err);
    }
  }

  // ---- messages ------------------------------------------------------------------------------

  function formatTime(unix) {
    if (!unix) return '';
    const d = new Date(unix * 1000);
    return d.toLocaleString();
  }

  function renderMessages(stickToBottom) {
    const roomId = state.openRoomId;
    const list = $('messages');
    if (roomId === null) { list.replaceChildren(); return; }
    const r = roomRecord(roomId);
    const scroller = $('message-scroller');
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    const editing = list.querySelector('li.editing');
    const editingId = editing ? editing.dataset.messageId : null;
    const tpl = $('message-template');
    const ids = [...r.messages.keys()].sort(cmpMsgId);
    const items = ids.map((id) => {
      const m = r.messages.get(id);
      if (id === editingId && !m.deleted) return editing;  // keep an edit in progress
      const li = tpl.content.firstElementChild.cloneNode(true);
      const mine = state.me && m.account_id === state.me.account_id;
      li.dataset.messageId = m.message_id;
      li.dataset.accountId = String(m.account_id);
      li.dataset.mine = mine ? 'true' : 'false';
      li.dataset.deleted = m.deleted ? 'true' : 'false';
      if (mine) li.classList.add('mine');
      const target = state.searchTarget;
      if (target && target.roomId === roomId && target.messageId === m.message_id) {
        li.classList.add('search-hit');  // the message a search result opened
        li.dataset.searchHit = 'true';
      }
      li.querySelector('.author').textContent =
        mine ? `${nameOf(m.account_id)} (you)` : nameOf(m.account_id);
      const time = li.querySelector('.time');
      time.textContent = formatTime(m.send_time);
      time.dateTime = new Date((m.send_time || 0) * 1000).toISOString();
      li.querySelector('.edited').hidden = !(m.update_time > 0) || m.deleted;
      const body = li.querySelector('.body');
      if (m.deleted) {
        body.textContent = 'message deleted';
        li.classList.add('deleted');
      } else {
        const shown = window.hibikiNotation.render(m.body, {
          nameOf, formerNames: (id) => state.formerNames.get(id) || [],
          meId: state.me ? state.me.account_id : null, onReply: jumpToMessage, fileCard: files.card,
        });
        body.replaceChildren(shown.fragment);
        li.dataset.mentionsMe = shown.mentionsMe && !mine ? 'true' : 'false';
        if (shown.mentionsMe && !mine) li.classList.add('to-me');
      }
      const actions = li.querySelector('.actions');
      if (m.deleted) {
        actions.remove();
      } else {
        actions.querySelector('.reply-btn').addEventListener('click', () => replyTo(m));
        if (!mine) {
          // Only the author may edit or delete: no such buttons at all for others.
          actions.querySelector('.edit-btn').remove();
          actions.querySelector('.delete-btn').remove();
          actions.querySelector('.unread-btn').addEventListener('click', () => markUnread(m));
        } else {
          actions.querySelector('.unread-btn').remove();
          actions.querySelector('.edit-btn').addEventListener('click', () => beginEdit(li, m));
          actions.querySelector('.delete-btn').addEventListener('click', () => deleteMessage(m));
        }
      }
      return li;
    });
    list.replaceChildren(...items);
    list.dataset.count = String(items.length);
    $('load-older-btn').hidden = !r.hasOlder;
    if (stickToBottom || atBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  async function sendMessage() {
    const input = $('composer-input');
    const body = input.value;
    const roomId = state.openRoomId;
    if (roomId === null || body.trim() === '') return;
    const clientMsgId = randomClientMsgId();
    input.value = '';
    // A retry after a lost reply reuses the same client_msg_id, so it cannot post twice.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const reply = await request('send_message', { room_id: roomId, body, client_msg_id: clientMsgId });
        const r = roomRecord(roomId);
        if (state.openRoomId === roomId && !r.messages.has(reply.message_id)) {
          putMessage(r, {
            message_id: reply.message_id, account_id: state.me.account_id, body,
            send_time: Math.floor(Date.now() / 1000), update_time: 0, deleted: false,
          });
          renderMessages(true);
        }
        r.seen.add(reply.seq);
        // The server's time comes with the next list_rooms; until then the page's own clock.
        r.last_update_time = Math.max(r.last_update_time, Math.floor(Date.now() / 1000));
        renderRooms();
        markNewestRead(roomId);
        return;
      } catch (err) {
        if (err.code !== 'disconnected' && err.code !== 'timeout' && err.code !== 'unavailable') {
          showError('send', err);
          if (!input.value) input.value = body;
          return;
        }
        await new Promise((res) => setTimeout(res, 1000 * (attempt + 1)));
      }
    }
    setStatus('send failed: not connected; your text is back in the box', 'error');
    if (!input.value) input.value = body;
  }

  function beginEdit(li, m) {
    li.classList.add('editing');
    const body = li.querySelector('.body');
    const box = document.createElement('div');
    box.className = 'edit-box';
    const input = document.createElement('textarea');
    input.className = 'edit-input';
    input.dataset.test = 'edit-input';
    input.value = m.body;
    input.rows = 2;
    const save = document.createElement('button');
    save.type = 'button';
    save.textContent = 'save';
    save.dataset.test = 'edit-save';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.textContent = 'cancel';
    cancel.dataset.test = 'edit-cancel';
    box.append(input, save, cancel);
    body.replaceWith(box);
    input.focus();
    const finish = () => { li.classList.remove('editing'); renderMessages(false); };
    cancel.addEventListener('click', finish);
    save.addEventListener('click', async () => {
      const text = input.value;
      if (text.trim() === '' || text === m.body) { finish(); return; }
      try {
        const reply = await request('edit_message', {
          room_id: state.openRoomId, message_id: m.message_id, body: text,
        });
        const r = roomRecord(state.openRoomId);
        r.seen.add(reply.seq);
        putMessage(r, { ...m, body: text, update_time: Math.floor(Date.now() / 1000) });
        finish();
      } catch (err) {
        showError('edit', err);
      }
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); save.click(); }
      if (e.key === 'Escape') finish();
    });
  }

  // Marks the room unread from this message on (mark_unread); reading on re-marks it read.
  async function markUnread(m) {
    const roomId = state.openRoomId;
    try {
      const reply = await request('mark_unread', { room_id: roomId, message_id: m.message_id });
      const r = roomRecord(roomId);
      r.unread_num = reply.unread_num;
      r.mention_num = reply.mention_num;
      r.lastMarked = null;
      renderRooms();
      setStatus(`unread from this message: ${reply.unread_num} unread`);
    } catch (err) {
      showError('mark unread', err);
    }
  }

  async function deleteMessage(m) {
    const roomId = state.openRoomId;
    try {
      const reply = await request('delete_message', { room_id: roomId, message_id: m.message_id });
      const r = roomRecord(roomId);
      r.seen.add(reply.seq);
      files.messageDeleted(roomId, m.message_id);  // a file it carried is hidden with it
      putMessage(r, { ...m, body: '', deleted: true });
      renderMessages(false);
    } catch (err) {
      showError('delete', err);
    }
  }

  // ---- me and profile ------------------------------------------------------------------------

  async function loadMe() {
    try {
      const me = await request('me');
      state.myRoomId = me.room_id;
      learnName(me.account_id, me.name);
      roomRecord(me.room_id).type = 'my';
    } catch (err) {
      if (err.code !== 'disconnected') showError('me', err);
    }
  }

  function toggleProfileForm(open) {
    const form = $('profile-form');
    form.hidden = !open;
    $('rename-btn').setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) {
      $('profile-name').value = state.me ? state.me.name : '';
      $('profile-name').focus();
    }
  }

  async function saveProfile() {
    const name = $('profile-name').value.trim();
    if (!name) { setStatus('a name cannot be empty', 'error'); return; }
    try {
      const me = await request('update_profile', { name });
      learnName(me.account_id, me.name);
      toggleProfileForm(false);
      setStatus(`you are now ${me.name}`);
    } catch (err) {
      showError('rename', err);
    }
  }

  // ---- the open room's header, members and tasks -------------------------------------------

  function openRoomRecord() {
    return state.openRoomId === null ? null : roomRecord(state.openRoomId);
  }

  // Admins of a group room manage its members; my and direct chats never change members.
  function canManageMembers() {
    const r = openRoomRecord();
    return !!r && r.role === 'admin' && r.type === 'group';
  }

  function renderRoomHeader() {
    const r = openRoomRecord();
    if (!r) return;
    $('room-title').textContent = roomDisplayName(r);
    $('room-icon').src = roomIconSrc(r);
    $('room-icon').dataset.icon = r.type === 'group' ? r.icon_preset : r.type;
    $('room-type').textContent = r.type === 'my' ? 'my chat' : r.type === 'direct' ? 'direct chat' : 'group';
    $('room-type').dataset.type = r.type;
    $('room-role').textContent = r.role;
    $('add-member-form').hidden = !canManageMembers();
    $('add-task-form').hidden = r.role === 'readonly';
    $('leave-room-btn').hidden = r.type !== 'group' || !r.role;
    $('room-description').textContent = r.description;
    $('room-description').hidden = !r.description;
    const settings = $('room-settings-form');
    const wasHidden = settings.hidden;
    settings.hidden = !canManageMembers();
    if (Number($('delete-room-btn').dataset.armedRoom) !== r.room_id) disarmDeleteRoom();
    if (!settings.hidden && (wasHidden || !settings.contains(document.activeElement))) {
      $('room-settings-name').value = r.name;
      $('room-settings-description').value = r.description;
      $('room-settings-icon').value = r.icon_preset;
    }
  }

  async function loadRoomInfo() {
    const roomId = state.openRoomId;
    if (roomId === null) return;
    try {
      const reply = await request('get_room', { room_id: roomId });
      if (state.openRoomId !== roomId) return;
      const r = roomRecord(roomId);
      r.name = reply.room.name;
      r.description = reply.room.description || '';
      if (reply.room.icon_preset) r.icon_preset = reply.room.icon_preset;
      r.role = reply.room.role || r.role;
      if (reply.room.type) r.type = reply.room.type;
      renderRoomHeader();
    } catch (err) {
      if (err.code !== 'disconnected') showError('room', err);
    }
  }

  async function saveRoomSettings() {
    const r = openRoomRecord();
    if (!r) return;
    const name = $('room-settings-name').value.trim();
    const description = $('room-settings-description').value;
    const icon = $('room-settings-icon').value;
    if (!name) { setStatus('a room needs a name', 'error'); return; }
    try {
      await request('update_room', { room_id: r.room_id, name, description, icon_preset: icon });
      r.name = name;
      r.description = description;
      r.icon_preset = icon;
      renderRooms();
      renderRoomHeader();
      setStatus('room saved');
    } catch (err) {
      showError('save room', err);
    }
  }

  // Deleting takes every message and task of the room with it, for everyone: the first click
  // only arms the button (and says so), the second, on the same room, deletes.
  function disarmDeleteRoom() {
    const button = $('delete-room-btn');
    delete button.dataset.armedRoom;
    button.textContent = 'Delete this room';
  }

  async function deleteRoom() {
    const r = openRoomRecord();
    if (!r) return;
    const button = $('delete-room-btn');
    if (Number(button.dataset.armedRoom) !== r.room_id) {
      button.dataset.armedRoom = String(r.room_id);
      button.textContent = 'Delete it, with all its messages and tasks';
      setStatus(`click again to delete "${roomDisplayName(r)}" for all its members`);
      return;
    }
    disarmDeleteRoom();
    try {
      await request('delete_room', { room_id: r.room_id });
      dropRoom(r.room_id);
      if (state.openRoomId === r.room_id) closeRoom();
      renderRooms();
      refreshMyTasks();  // the room's tasks went with it
      setStatus(`you deleted "${roomDisplayName(r)}"`);
    } catch (err) {
      showError('delete room', err);
    }
  }

  async function leaveRoom() {
    const r = openRoomRecord();
    if (!r) return;
    try {
      await request('leave_room', { room_id: r.room_id });
      dropRoom(r.room_id);
      closeRoom();
      renderRooms();
      refreshMyTasks();  // your tasks in that room went with you
      setStatus(`you left "${roomDisplayName(r)}"`);
    } catch (err) {
      showError('leave', err);
    }
  }

  async function refreshMembers() {
    const roomId = state.openRoomId;
    if (roomId === null) return;
    try {
      const reply = await request('get_members', { room_id: roomId });
      if (state.openRoomId !== roomId) return;
      state.members = reply.members || [];
      for (const m of state.members) learnName(m.account_id, m.name);
      const r = roomRecord(roomId);
      const mine = state.members.find((m) => m.account_id === state.me.account_id);
      if (mine) r.role = mine.role;
      if (r.type === 'direct') {
        const other = state.members.find((m) => m.account_id !== state.me.account_id);
        if (other) r.peer = other.account_id;
      }
      $('member-list').dataset.loaded = 'true';
      renderRoomHeader();
      renderMembers();
      renderRoomTasks();  // the assignee choices follow the members
    } catch (err) {
      if (err.code !== 'disconnected') showError('members', err);
    }
  }

  const ROLES = [['admin', 'admin'], ['member', 'member'], ['readonly', 'read-only']];

  function renderMembers() {
    const list = $('member-list');
    const manage = canManageMembers();
    // Pushes redraw this list at any time; a role picked but not yet set survives the redraw.
    const picked = new Map();
    for (const s of list.querySelectorAll('select.member-role-select')) {
      const row = s.closest('li');
      if (row && s.value !== row.dataset.role) picked.set(row.dataset.accountId, { from: row.dataset.role, to: s.value });
    }
    list.replaceChildren(...state.members.map((m) => {
      const isMe = state.me && m.account_id === state.me.account_id;
      const li = el('li', { className: 'member', test: 'member',
        data: { accountId: String(m.account_id), role: m.role } });
      li.append(el('span', { className: 'member-name', test: 'member-name',
        text: isMe ? `${nameOf(m.account_id)} (you)` : nameOf(m.account_id) }));
      li.append(el('span', { className: 'member-id', text: `#${m.account_id}` }));
      if (manage) {
        const select = el('select', { className: 'member-role-select', test: 'member-role-select' });
        select.setAttribute('aria-label', `role of ${nameOf(m.account_id)}`);
        for (const [value, label] of ROLES) {
          select.append(el('option', { value, text: label, selected: value === m.role }));
        }
        // A separate "set" button: keyboard users move through the options without each one
        // being sent as a role change.
        const save = el('button', { type: 'button', className: 'member-role-save', test: 'member-role-save',
          text: 'set', disabled: true, onclick: () => setRole(m.account_id, select.value, select, m.role) });
        save.setAttribute('aria-label', `set the role of ${nameOf(m.account_id)}`);
        select.addEventListener('change', () => { save.disabled = select.value === m.role; });
        const pick = picked.get(String(m.account_id));
        if (pick && pick.from === m.role) {
          select.value = pick.to;
          save.disabled = false;
        }
        li.append(select, save);
        if (!isMe) {  // you leave with "Leave this room"
          const remove = el('button', { type: 'button', className: 'member-remove', test: 'member-remove',
            text: 'remove', onclick: () => removeMember(m.account_id) });
          remove.setAttribute('aria-label', `remove ${nameOf(m.account_id)}`);
          li.append(remove);
        }
      } else {
        li.append(el('span', { className: `role role-${m.role}`, test: 'member-role',
          text: m.role === 'readonly' ? 'read-only' : m.role }));
      }
      return li;
    }));
    $('member-count').textContent = state.members.length ? `(${state.members.length})` : '';
    renderToPicker();
    files.setMembers(state.members);
  }

  async function setRole(accountId, role, select, oldRole) {
    try {
      await request('add_members', { room_id: state.openRoomId, account_ids: [accountId], role });
      setStatus(`${nameOf(accountId)} is now ${role}`);
    } catch (err) {
      select.value = oldRole;
      showError('change role', err);
    }
    refreshMembers();
  }

  async function removeMember(accountId) {
    try {
      await request('remove_member', { room_id: state.openRoomId, account_id: accountId });
      setStatus(`${nameOf(accountId)} was removed`);
    } catch (err) {
      showError('remove member', err);
    }
    refreshMembers();
  }

  // The [To:] picker lists the room's other members; choosing one writes Chatwork's tag.
  function renderToPicker() {
    const picker = $('to-picker');
    const others = state.members.filter((m) => !state.me || m.account_id !== state.me.account_id);
    const options = [el('option', { value: '', text: 'To…' })];
    if (others.length > 1) options.push(el('option', { value: 'all', text: 'To all' }));
    for (const m of others) options.push(el('option', { value: String(m.account_id), text: nameOf(m.account_id) }));
    picker.replaceChildren(...options);
    picker.disabled = others.length === 0;
  }

  function insertIntoComposer(text, atStart = false) {
    const input = $('composer-input');
    if (atStart) {
      input.value = text + input.value;
      input.setSelectionRange(input.value.length, input.value.length);
    } else {
      const start = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? input.value.length;
      input.setRangeText(text, start, end, 'end');
    }
    input.focus();
  }

  function pickTo() {
    const picker = $('to-picker');
    const v = picker.value;
    picker.value = '';
    if (!v) return;
    if (v === 'all') insertIntoComposer('[toall]\n');
    else insertIntoComposer(`[To:${v}]${nameOf(Number(v))}\n`);
  }

  function replyTo(m) {
    insertIntoComposer(`[rp aid=${m.account_id} to=${state.openRoomId}-${m.message_id}]${nameOf(m.account_id)}\n`, true);
  }

  // A reply chip was clicked: show the message it answers, when it is loaded here.
  function jumpToMessage(roomId, messageId) {
    if (roomId !== state.openRoomId) { setStatus(`that message is in room #${roomId}`); return; }
    const li = document.querySelector(`#messages li[data-message-id="${CSS.escape(messageId)}"]`);
    if (!li) { setStatus('that message is not loaded: use "load older"'); return; }
    li.scrollIntoView({ block: 'center' });
    li.classList.add('flash');
    setTimeout(() => li.classList.remove('flash'), 1500);
  }

  async function refreshRoomTasks() {
    const roomId = state.openRoomId;
    if (roomId === null) return;
    try {
      const reply = await request('list_tasks', { room_id: roomId });
      if (state.openRoomId !== roomId) return;
      state.roomTasks = reply.tasks || [];
      $('room-task-list').dataset.loaded = 'true';
      renderRoomTasks();
    } catch (err) {
      if (err.code !== 'disconnected') showError('tasks', err);
    }
  }

  function formatLimit(t) {
    if (!t.limit_time || t.limit_type === 'none') return '';
    const d = new Date(t.limit_time * 1000);
    return t.limit_type === 'date' ? d.toLocaleDateString() : d.toLocaleString();
  }

  function taskItem(t, withRoom) {
    const done = t.status === 'done';
    const assignee = t.account ? t.account.account_id : 0;
    const creator = t.assigned_by_account ? t.assigned_by_account.account_id : 0;
    const li = el('li', { className: `task${done ? ' done' : ''}`, test: 'task',
      data: { taskId: String(t.task_id), roomId: String(t.room_id), status: t.status,
        assignee: String(assignee) } });
    const body = el('div', { className: 'task-body', test: 'task-body' });
    body.append(window.hibikiNotation.render(t.body, {
      nameOf, formerNames: (id) => state.formerNames.get(id) || [],
      meId: state.me ? state.me.account_id : null, onReply: jumpToMessage }).fragment);
    const meta = el('div', { className: 'task-meta' });
    meta.append(el('span', { test: 'task-assignee', text: `for ${nameOf(assignee)}` }),
      el('span', { test: 'task-creator', text: `by ${nameOf(creator)}` }));
    const limit = formatLimit(t);
    if (limit) meta.append(el('span', { test: 'task-limit', text: `until ${limit}` }));
    if (withRoom) {
      const r = state.rooms.get(t.room_id);
      const roomName = r ? roomDisplayName(r) : (t.room && t.room.name) || `room ${t.room_id}`;
      meta.append(el('button', { type: 'button', className: 'link', test: 'task-room',
        text: `in ${roomName}`, onclick: () => openRoom(t.room_id) }));
    }
    meta.append(el('span', { className: 'task-status', test: 'task-status', text: done ? 'done' : 'open' }));
    li.append(body, meta);
    const me = state.me ? state.me.account_id : -1;
    if (me === assignee || me === creator) {
      li.append(el('button', { type: 'button', className: 'task-toggle', test: 'task-toggle',
        text: done ? 'open again' : 'done', onclick: () => setTaskStatus(t, done ? 'open' : 'done') }));
    }
    return li;
  }

  // Open tasks first, then done ones; each in task order.
  function sortTasks(tasks) {
    return [...tasks].sort((a, b) => ((a.status === 'done') - (b.status === 'done')) ||
      (a.room_id - b.room_id) || (a.task_id - b.task_id));
  }

  function renderRoomTasks() {
    $('room-task-list').replaceChildren(...sortTasks(state.roomTasks).map((t) => taskItem(t, false)));
    $('no-room-tasks').hidden = state.roomTasks.length > 0;
    // Assignee choices: the room's members (keeping what was ticked).
    const box = $('task-assignees');
    const ticked = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
    const choices = state.members.map((m) => {
      const id = `task-for-${m.account_id}`;
      const input = el('input', { type: 'checkbox', id, value: String(m.account_id), test: 'task-assignee',
        checked: ticked.has(String(m.account_id)) });
      const isMe = state.me && m.account_id === state.me.account_id;
      const label = el('label', { htmlFor: id, text: isMe ? `${nameOf(m.account_id)} (you)` : nameOf(m.account_id) });
      return el('span', { className: 'choice' }, input, label);
    });
    box.replaceChildren(el('legend', { text: 'For' }), ...choices);
  }

  async function setTaskStatus(t, status) {
    try {
      await request('set_task_status', { room_id: t.room_id, task_id: t.task_id, status });
    } catch (err) {
      showError('task', err);
    }
    if (state.openRoomId === t.room_id) refreshRoomTasks();
    refreshMyTasks();
  }

  async function showOwnMessage(roomId, messageId) {
    const got = await request('get_message', { room_id: roomId, message_id: messageId });
    const r = state.rooms.get(roomId);
    if (!r || !got.message) return;
    putMessage(r, got.message);
    if (state.openRoomId === roomId) renderMessages(true);
  }

  async function addTask() {
    const body = $('task-body').value;
    const toIds = [...$('task-assignees').querySelectorAll('input:checked')].map((i) => Number(i.value));
    if (body.trim() === '') { setStatus('a task needs a text', 'error'); return; }
    if (toIds.length === 0) { setStatus('choose at least one member for the task', 'error'); return; }
    const fields = { room_id: state.openRoomId, body, to_ids: toIds };
    const date = $('task-limit-date').value;
    const time = $('task-limit-time').value;
    if (time && !date) { setStatus('a limit time needs a date', 'error'); return; }
    if (date) {
      const when = new Date(`${date}T${time || '00:00'}`);
      if (Number.isNaN(when.getTime())) { setStatus('that limit is not a date', 'error'); return; }
      fields.limit = Math.floor(when.getTime() / 1000);
      fields.limit_type = time ? 'time' : 'date';
    }
    try {
      const reply = await request('add_task', fields);
      $('task-body').value = '';
      $('task-limit-date').value = '';
      $('task-limit-time').value = '';
      for (const i of $('task-assignees').querySelectorAll('input:checked')) i.checked = false;
      setStatus(`${reply.task_ids.length} task${reply.task_ids.length === 1 ? '' : 's'} added`);
      // Adding tasks posted a message that shows them; pushes skip this connection, so read it.
      if (reply.message_id) await showOwnMessage(fields.room_id, reply.message_id);
    } catch (err) {
      showError('add task', err);
    }
    refreshRoomTasks();
    refreshMyTasks();
  }

  // ---- my tasks ------------------------------------------------------------------------------

  // ---- my status: the counts over all my rooms (my_status), coalesced like my tasks ---------

  let myStatusLoading = null;
  let myStatusAgain = false;
  function refreshMyStatus() {
    if (myStatusLoading) { myStatusAgain = true; return myStatusLoading; }
    myStatusLoading = loadMyStatus().finally(() => {
      myStatusLoading = null;
      if (myStatusAgain) { myStatusAgain = false; refreshMyStatus(); }
    });
    return myStatusLoading;
  }

  async function loadMyStatus() {
    try {
      const s = await request('my_status');
      $('my-status-unread').textContent = String(s.unread_room_num);
      $('my-status-mentions').textContent = String(s.mention_num);
      $('my-status-tasks').textContent = String(s.mytask_num);
      $('my-status').dataset.loaded = 'true';
      $('my-status').hidden = false;
    } catch (err) {
      if (err.code !== 'disconnected') showError('my status', err);
    }
  }

  // Coalesces bursts (a sync replaying many task events) into one request at a time.
  let myTasksLoading = null;
  let myTasksAgain = false;
  function refreshMyTasks() {
    if (myTasksLoading) { myTasksAgain = true; return myTasksLoading; }
    myTasksLoading = loadMyTasks().finally(() => {
      myTasksLoading = null;
      if (myTasksAgain) { myTasksAgain = false; refreshMyTasks(); }
    });
    return myTasksLoading;
  }

  async function loadMyTasks() {
    try {
      const reply = await request('my_tasks');
      state.myTasks = reply.tasks || [];
      $('my-task-list').dataset.loaded = 'true';
      renderMyTasks();
    } catch (err) {
      if (err.code !== 'disconnected') showError('my tasks', err);
    }
  }

  function renderMyTasks() {
    $('my-task-list').replaceChildren(...sortTasks(state.myTasks).map((t) => taskItem(t, true)));
    $('no-my-tasks').hidden = state.myTasks.length > 0;
  }

  // ---- contacts ------------------------------------------------------------------------------

  async function refreshContacts() {
    try {
      const reply = await request('contacts');
      state.contacts = reply.contacts || [];
      for (const c of state.contacts) {
        learnName(c.account_id, c.name);
        const r = state.rooms.get(c.room_id);
        if (r) { r.type = 'direct'; r.peer = c.account_id; }
      }
      $('contact-list').dataset.loaded = 'true';
      renderContacts();
      renderRooms();
    } catch (err) {
      if (err.code !== 'disconnected') showError('contacts', err);
    }
  }

  async function refreshRequests() {
    try {
      const reply = await request('incoming_requests');
      state.requests = reply.requests || [];
      for (const q of state.requests) learnName(q.account_id, q.name);
      $('request-list').dataset.loaded = 'true';
      renderRequests();
    } catch (err) {
      if (err.code !== 'disconnected') showError('contact requests', err);
    }
  }

  // Direct chats whose other person we do not know yet (not among the contacts) ask get_members.
  async function ensurePeers() {
    const known = new Map(state.contacts.map((c) => [c.room_id, c.account_id]));
    for (const r of state.rooms.values()) {
      if (r.type !== 'direct' || r.peer !== null) continue;
      if (known.has(r.room_id)) { r.peer = known.get(r.room_id); continue; }
      try {
        const reply = await request('get_members', { room_id: r.room_id });
        const other = (reply.members || []).find((m) => m.account_id !== state.me.account_id);
        if (other) { r.peer = other.account_id; learnName(other.account_id, other.name); }
      } catch { /* shown as "direct chat" */ }
    }
    renderRooms();
  }

  function renderContacts() {
    $('contact-list').replaceChildren(...state.contacts.map((c) => {
      const li = el('li', { className: 'contact', test: 'contact', data: { accountId: String(c.account_id) } });
      li.append(el('span', { className: 'contact-name', test: 'contact-name', text: nameOf(c.account_id) }),
        el('span', { className: 'member-id', text: `#${c.account_id}` }));
      const chat = el('button', { type: 'button', test: 'contact-chat', text: 'chat',
        onclick: () => openDirect(c) });
      chat.setAttribute('aria-label', `chat with ${nameOf(c.account_id)}`);
      li.append(chat);
      return li;
    }));
    $('no-contacts').hidden = state.contacts.length > 0;
  }

  async function openDirect(c) {
    if (!state.rooms.has(c.room_id)) await refreshRooms();
    const r = roomRecord(c.room_id);
    r.type = 'direct';
    r.peer = c.account_id;
    await openRoom(c.room_id);
  }

  function renderRequests() {
    $('request-list').replaceChildren(...state.requests.map((q) => {
      const li = el('li', { className: 'request', test: 'request', data: { accountId: String(q.account_id) } });
      li.append(el('span', { className: 'contact-name', test: 'request-name', text: nameOf(q.account_id) }),
        el('span', { className: 'member-id', text: `#${q.account_id}` }));
      if (q.message) li.append(el('span', { className: 'request-message', test: 'request-message', text: q.message }));
      const accept = el('button', { type: 'button', test: 'request-accept', text: 'accept',
        onclick: () => answerRequest(q, true) });
      const reject = el('button', { type: 'button', test: 'request-reject', text: 'reject',
        onclick: () => answerRequest(q, false) });
      accept.setAttribute('aria-label', `accept ${nameOf(q.account_id)}`);
      reject.setAttribute('aria-label', `reject ${nameOf(q.account_id)}`);
      li.append(accept, reject);
      return li;
    }));
    $('no-requests').hidden = state.requests.length > 0;
  }

  async function answerRequest(q, accept) {
    try {
      if (accept) {
        const reply = await request('accept_contact', { request_id: q.request_id });
        setStatus(`${reply.name} is now a contact`);
      } else {
        await request('reject_contact', { request_id: q.request_id });
        setStatus(`request from ${nameOf(q.account_id)} rejected`);
      }
    } catch (err) {
      showError(accept ? 'accept' : 'reject', err);
    }
    await Promise.all([refreshRequests(), refreshContacts()]);
    if (accept) { await refreshRooms(); ensurePeers(); }
  }

  async function requestContact() {
    const ids = parseIds($('contact-request-id').value);
    if (!ids || ids.length !== 1) { setStatus('enter one account id (a positive number)', 'error'); return; }
    const fields = { account_id: ids[0] };
    const message = $('contact-request-message').value;
    if (message) fields.message = message;
    try {
      await request('request_contact', fields);
      $('contact-request-id').value = '';
      $('contact-request-message').value = '';
      setStatus(`contact request sent to account ${ids[0]}`);
    } catch (err) {
      showError('contact request', err);
    }
  }

  // ---- forms ---------------------------------------------------------------------------------

  function parseIds(text) {
    const parts = text.split(/[\s,]+/).filter((s) => s !== '');
    const ids = [];
    for (const p of parts) {
      if (!/^[1-9][0-9]{0,15}$/.test(p)) return null;
      ids.push(Number(p));
    }
    return ids;
  }

  async function createRoom() {
    const name = $('new-room-name').value.trim();
    const members = parseIds($('new-room-members').value);
    if (!name) { setStatus('a room needs a name', 'error'); return; }
    if (members === null) { setStatus('member ids must be positive numbers', 'error'); return; }
    const icon = $('new-room-icon').value;
    try {
      const reply = await request('create_room', { name, members });
      const r = roomRecord(reply.room_id);
      r.name = name;
      if (!r.role) r.role = 'admin';
      if (!r.last_update_time) r.last_update_time = Math.floor(Date.now() / 1000);
      // create_room has no icon: the creator (an admin) sets it right after.
      if (icon !== 'group') {
        await request('update_room', { room_id: reply.room_id, icon_preset: icon });
        r.icon_preset = icon;
      }
      $('new-room-name').value = '';
      $('new-room-members').value = '';
      $('new-room-icon').value = 'group';
      $('new-room-icon-preview').src = 'img/icon/group.svg';
      setStatus(`room "${name}" created`);
      renderRooms();
      await openRoom(reply.room_id);
    } catch (err) {
      showError('create room', err);
    }
  }

  async function addMember() {
    const ids = parseIds($('add-member-id').value);
    const role = $('add-member-role').value;
    if (!ids || ids.length === 0) { setStatus('enter an account id', 'error'); return; }
    try {
      await request('add_members', { room_id: state.openRoomId, account_ids: ids, role });
      $('add-member-id').value = '';
      setStatus(`added ${ids.map((id) => nameOf(id)).join(', ')} as ${role}`);
    } catch (err) {
      showError('add member', err);
    }
    refreshMembers();
  }

  async function signup(name) {
    try {
      const res = await fetch('/api/signup', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      let data = null;
      try { data = await res.json(); } catch { data = null; }
      if (!res.ok || !data || typeof data.token !== 'string') {
        const err = data && data.error ? data.error : { code: `http ${res.status}`, message: res.statusText || 'sign-up failed' };
        showError('sign up', err);
        return;
      }
      setStatus(`welcome, ${data.name}: your account id is ${data.account_id}`);
      login(data.token);
    } catch (err) {
      showError('sign up', { code: 'network', message: String(err) });
    }
  }

  // Forgets everything learned about the previous account.
  function forgetAccountState() {
    state.rooms.clear();
    state.openRoomId = null;
    state.myRoomId = null;
    state.names.clear();
    state.formerNames.clear();
    state.askedNames.clear();
    state.contacts = [];
    state.requests = [];
    state.myTasks = [];
    state.members = [];
    state.roomTasks = [];
  }

  function login(token) {
    state.token = token;
    localStorage.setItem(TOKEN_KEY, token);
    state.everAuthed = false;
    forgetAccountState();
    connect();
  }

  function logout(userAsked = true) {
    state.wantConnection = false;
    clearTimeout(state.reconnectTimer);
    localStorage.removeItem(TOKEN_KEY);
    state.token = '';
    state.me = null;
    state.everAuthed = false;
    closeRoom();
    files.reset();
    search.reset();
    state.searchTarget = null;
    forgetAccountState();
    renderRooms();
    renderContacts();
    renderRequests();
    renderMyTasks();
    $('my-status').hidden = true;
    delete $('my-status').dataset.loaded;
    toggleProfileForm(false);
    const ws = state.ws;
    state.ws = null;
    state.wsReady = false;
    if (ws) ws.close(1000, 'log out');
    setConnState('offline');
    showLogin();
    if (userAsked) setStatus('logged out');
  }

  function showChat() {
    $('login-view').hidden = true;
    $('chat-view').hidden = false;
    $('me').hidden = false;
    $('me-name').textContent = state.me.name;
    $('me-account-id').textContent = String(state.me.account_id);
    document.body.dataset.accountId = String(state.me.account_id);
  }

  function showLogin() {
    $('chat-view').hidden = true;
    $('login-view').hidden = false;
    $('me').hidden = true;
    delete document.body.dataset.accountId;
  }

  // ---- wiring --------------------------------------------------------------------------------

  $('signup-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('signup-name').value.trim();
    if (name) signup(name);
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token-input').value.trim();
    $('token-input').value = '';
    if (token) login(token);
  });
  $('logout-btn').addEventListener('click', () => logout(true));
  $('copy-id-btn').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('me-account-id').textContent);
      setStatus('account id copied');
    } catch {
      setStatus('copy failed: select the number and copy it by hand', 'error');
    }
  });
  $('create-room-form').addEventListener('submit', (e) => { e.preventDefault(); createRoom(); });
  $('new-room-icon').addEventListener('change', () => {
    $('new-room-icon-preview').src = `img/icon/${$('new-room-icon').value}.svg`;
  });
  $('add-member-form').addEventListener('submit', (e) => { e.preventDefault(); addMember(); });
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  $('composer-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  $('load-older-btn').addEventListener('click', loadOlder);
  $('to-picker').addEventListener('change', pickTo);
  $('rename-btn').addEventListener('click', () => toggleProfileForm($('profile-form').hidden));
  $('profile-cancel').addEventListener('click', () => toggleProfileForm(false));
  $('profile-form').addEventListener('submit', (e) => { e.preventDefault(); saveProfile(); });
  $('contact-request-form').addEventListener('submit', (e) => { e.preventDefault(); requestContact(); });
  $('add-task-form').addEventListener('submit', (e) => { e.preventDefault(); addTask(); });
  $('room-settings-form').addEventListener('submit', (e) => { e.preventDefault(); saveRoomSettings(); });
  $('leave-room-btn').addEventListener('click', leaveRoom);
  $('delete-room-btn').addEventListener('click', deleteRoom);
  $('toggle-details-btn').addEventListener('click', () => {
    const details = $('room-details');
    details.hidden = !details.hidden;
    $('toggle-details-btn').setAttribute('aria-expanded', details.hidden ? 'false' : 'true');
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || !state.wsReady) return;
    // Back to the page: members and contacts may have changed meanwhile.
    refreshContacts();
    if (state.openRoomId !== null) {
      markNewestRead(state.openRoomId);
      refreshMembers();
    }
  });

  if (state.token) connect(); else showLogin();
})();
