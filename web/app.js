// hibiki web client: one page, no build step, speaking ws-protocol-v1 over /ws.
// User text is only ever placed with textContent / value, never parsed as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'hibiki.token';
  const REQUEST_TIMEOUT_MS = 15000;
  const HISTORY_PAGE = 50;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;

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
    openRoomId: null,
  };

  function roomRecord(id) {
    let r = state.rooms.get(id);
    if (!r) {
      r = {
        room_id: id, name: `room ${id}`, role: '', unread_num: 0, mention_num: 0,
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
      state.wsReady = true;
      state.backoffMs = BACKOFF_MIN_MS;
      setConnState('online');
      showChat();
      const reconnect = state.everAuthed;
      state.everAuthed = true;
      if (reconnect) await resync();
      await refreshRooms();
      if (state.openRoomId !== null) {
        if (reconnect) await markNewestRead(state.openRoomId);
        else await openRoom(state.openRoomId);
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
        return;
      }
      default:
        break;
    }
    if (typeof f.room_id !== 'number' || typeof f.seq !== 'number') return;
    const r = roomRecord(f.room_id);
    if (r.seen.has(f.seq)) return;  // already applied (a sync replay, or our own reply)
    r.seen.add(f.seq);
    r.lastSeq = Math.max(r.lastSeq, f.seq);
    const isOpen = state.openRoomId === f.room_id;

    switch (f.ev) {
      case 'room_created': {
        r.name = f.name;
        const mine = Array.isArray(f.members)
          ? f.members.find((m) => state.me && m.account_id === state.me.account_id) : null;
        if (mine && mine.role) r.role = mine.role;
        renderRooms();
        break;
      }
      case 'member_added':
        if (state.me && f.account_id === state.me.account_id) {
          if (f.role) r.role = f.role;
          refreshRooms();  // learn the name and counts of a room we were just added to
        } else if (isOpen) {
          setStatus(`account ${f.account_id} joined as ${f.role}`);
        }
        break;
      case 'member_removed':
        if (state.me && f.account_id === state.me.account_id) {
          state.rooms.delete(f.room_id);
          if (isOpen) closeRoom();
          renderRooms();
        }
        break;
      case 'message_created': {
        const m = f.message;
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
        if (isOpen) { putMessage(r, f.message); renderMessages(false); }
        break;
      case 'message_deleted':
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
      const reply = await request('list_rooms');
      const ids = new Set();
      for (const x of reply.rooms || []) {
        ids.add(x.room_id);
        const r = roomRecord(x.room_id);
        r.name = x.name;
        r.role = x.role;
        r.unread_num = x.unread_num;
        r.mention_num = x.mention_num;
        r.lastSeq = Math.max(r.lastSeq, x.last_seq || 0);
      }
      // Rooms we have left (or were removed from) while disconnected.
      for (const id of [...state.rooms.keys()]) {
        if (!ids.has(id)) {
          state.rooms.delete(id);
          if (state.openRoomId === id) closeRoom();
        }
      }
      renderRooms();
    } catch (err) {
      if (err.code !== 'disconnected') showError('list_rooms', err);
    }
  }

  function renderRooms() {
    const list = $('room-list');
    const rooms = [...state.rooms.values()].sort((a, b) => a.room_id - b.room_id);
    list.replaceChildren(...rooms.map((r) => {
      const li = document.createElement('li');
      li.className = 'room-item';
      li.dataset.test = 'room-item';
      li.dataset.roomId = String(r.room_id);
      li.dataset.unread = String(r.unread_num);
      if (r.room_id === state.openRoomId) li.classList.add('selected');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'room-open';
      btn.dataset.test = 'room-open';
      const name = document.createElement('span');
      name.className = 'room-name';
      name.dataset.test = 'room-name';
      name.textContent = r.name;
      const idTag = document.createElement('span');
      idTag.className = 'room-id';
      idTag.textContent = `#${r.room_id}`;
      btn.append(name, idTag);
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
    state.openRoomId = roomId;
    r.messages = new Map();
    r.hasOlder = false;
    r.lastMarked = null;
    $('room-empty').hidden = true;
    $('room-open').hidden = false;
    $('room-title').textContent = r.name;
    $('room-role').textContent = r.role;
    $('messages').dataset.roomId = String(roomId);
    $('messages').dataset.loaded = 'false';
    renderRooms();
    renderMessages(true);
    try {
      const reply = await request('history', { room_id: roomId, limit: HISTORY_PAGE });
      if (state.openRoomId !== roomId) return;
      for (const m of reply.messages || []) putMessage(r, m);
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
      for (const m of reply.messages || []) putMessage(r, m);
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
      li.querySelector('.author').textContent =
        mine ? `${state.me.name} (you)` : `account ${m.account_id}`;
      const time = li.querySelector('.time');
      time.textContent = formatTime(m.send_time);
      time.dateTime = new Date((m.send_time || 0) * 1000).toISOString();
      li.querySelector('.edited').hidden = !(m.update_time > 0) || m.deleted;
      const body = li.querySelector('.body');
      if (m.deleted) {
        body.textContent = 'message deleted';
        li.classList.add('deleted');
      } else {
        body.textContent = m.body;
      }
      const actions = li.querySelector('.actions');
      if (!mine || m.deleted) {
        actions.remove();  // only the author may edit or delete: no buttons at all for others
      } else {
        actions.querySelector('.edit-btn').addEventListener('click', () => beginEdit(li, m));
        actions.querySelector('.delete-btn').addEventListener('click', () => deleteMessage(m));
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

  async function deleteMessage(m) {
    const roomId = state.openRoomId;
    try {
      const reply = await request('delete_message', { room_id: roomId, message_id: m.message_id });
      const r = roomRecord(roomId);
      r.seen.add(reply.seq);
      putMessage(r, { ...m, body: '', deleted: true });
      renderMessages(false);
    } catch (err) {
      showError('delete', err);
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
    try {
      const reply = await request('create_room', { name, members });
      const r = roomRecord(reply.room_id);
      r.name = name;
      if (!r.role) r.role = 'admin';
      $('new-room-name').value = '';
      $('new-room-members').value = '';
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
      setStatus(`added ${ids.join(', ')} as ${role}`);
    } catch (err) {
      showError('add member', err);
    }
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

  function login(token) {
    state.token = token;
    localStorage.setItem(TOKEN_KEY, token);
    state.everAuthed = false;
    state.rooms.clear();
    state.openRoomId = null;
    connect();
  }

  function logout(userAsked = true) {
    state.wantConnection = false;
    clearTimeout(state.reconnectTimer);
    localStorage.removeItem(TOKEN_KEY);
    state.token = '';
    state.me = null;
    state.everAuthed = false;
    state.rooms.clear();
    closeRoom();
    renderRooms();
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
  $('add-member-form').addEventListener('submit', (e) => { e.preventDefault(); addMember(); });
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
  $('composer-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  $('load-older-btn').addEventListener('click', loadOlder);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.openRoomId !== null && state.wsReady) {
      markNewestRead(state.openRoomId);
    }
  });

  if (state.token) connect(); else showLogin();
})();
