// gnetty chat page. Every user-supplied string is rendered with
// textContent, never as HTML; avatars are emoji from an allow-listed set.
//
// Conversations are rooms ("#lobby") and direct messages ("@bob"); each
// keeps its messages (by id, within its epoch), its unread count and its
// last id, so a reconnect resumes each one where it stopped. Everything
// sent carries a cid and stays in the outbox until the server's copy
// comes back: a resend after a reconnect is answered with the stored
// message, so nothing typed is lost and nothing shows twice.
'use strict';
// Avatars are a colour per allow-listed key and the name's first letter:
// drawn with CSS, so they need no image and no emoji font.
const AVATARS = { cat: '#e67e22', dog: '#8e5b3a', fox: '#d35400', owl: '#8e44ad', panda: '#2c3e50', frog: '#27ae60', bear: '#a0522d', koala: '#7f8c8d' };
function avatar(key, name, cls) {
  const a = el('span', cls || 'avatar', [...String(name || '?')][0].toUpperCase());
  a.style.background = AVATARS[key] || '#95a5a6';
  a.setAttribute('aria-hidden', 'true');
  return a;
}
const KEEP = 500; // messages kept per conversation
const $ = (id) => document.getElementById(id);
const lower = (s) => String(s).toLowerCase();
const state = {
  me: null, ws: null, backoff: 1000,
  convs: new Map(), // key -> conversation
  current: null, // the key shown
  lastTyping: 0,
};

// conv returns the conversation called key ("#room" or "@name"), made on
// first use.
function conv(key, title) {
  let c = state.convs.get(key);
  if (!c) {
    const room = key[0] === '#';
    c = { key, room, name: key.slice(1), title: title || key.slice(1), msgs: [], last: 0, epoch: '', unread: 0, online: [], count: 0, typing: new Map(), joined: false };
    state.convs.set(key, c);
  }
  if (title && !c.room) c.title = title; // a dm partner's name as the server spells it
  return c;
}
const roomKey = (r) => '#' + r;
const dmKey = (name) => '@' + lower(name);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function setState(s, label) {
  $('state').className = 'state ' + s;
  $('state').textContent = label || s;
}

function showLogin() {
  $('login').hidden = false;
  $('chat').hidden = true;
  $('logout').hidden = true;
  $('logout-all').hidden = true;
  $('menu').hidden = true;
  $('me').textContent = '';
}

function showChat() {
  $('login').hidden = true;
  $('chat').hidden = false;
  $('logout').hidden = false;
  $('logout-all').hidden = !String(state.me.id || '').startsWith('a:'); // accounts only
  $('menu').hidden = false;
  $('me').textContent = '';
  $('me').appendChild(avatar(state.me.headerimg, state.me.username, 'avatar small'));
  $('me').appendChild(el('span', 'name', state.me.username));
  refreshDirectory();
  notifyButton();
}

// --- persisted state: the dm partners and the outbox survive a reload ---
const OUTBOX = 'gnetty-chat-outbox';
const PARTNERS = 'gnetty-chat-dms';
function load(key, dflt) {
  try { return JSON.parse(localStorage.getItem(key) || '') ?? dflt; } catch { return dflt; }
}
function save(key, v) {
  try { localStorage.setItem(key, JSON.stringify(v)); } catch { /* storage full or disabled */ }
}
function rememberPartner(name) {
  const list = load(PARTNERS, []);
  if (!list.some((n) => lower(n) === lower(name))) { list.push(name); save(PARTNERS, list); }
}

// --- rendering ---
function dayOf(t) { const d = new Date(t); return d.getFullYear() + '-' + d.getMonth() + '-' + d.getDate(); }
function dayLabel(t) {
  const d = new Date(t);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (dayOf(d) === dayOf(today)) return 'Today';
  if (dayOf(d) === dayOf(yesterday)) return 'Yesterday';
  return d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

// isMine tells my messages by identity (from_id); names alone can be
// someone else's after a guest's session ends.
function isMine(m) {
  if (!state.me) return false;
  if (m.from_id && state.me.id) return m.from_id === state.me.id;
  return lower(m.from) === lower(state.me.username);
}

// linkify appends text to p with its http and https links as anchors
// (opened in a new tab, without the opener or the referrer); every part is
// text, never HTML.
function linkify(p, text) {
  const re = /\bhttps?:\/\/[^\s<>"']+/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    let url = m[0].replace(/[.,;:!?)\]]+$/, ''); // trailing punctuation is the sentence's
    let ok = false;
    try { ok = ['http:', 'https:'].includes(new URL(url).protocol); } catch { ok = false; }
    if (!ok) continue;
    p.append(text.slice(at, m.index));
    const a = el('a', 'link', url);
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    p.appendChild(a);
    at = m.index + url.length;
  }
  p.append(text.slice(at));
}

// sameRun reports whether b follows a from the same sender within five
// minutes: b is then shown without avatar, name and time again.
function sameRun(a, b) {
  if (!a || !b || a.system || b.system) return false;
  const who = (m) => m.from_id || lower(m.from);
  return who(a) === who(b) && dayOf(a.time) === dayOf(b.time) && Math.abs(new Date(b.time) - new Date(a.time)) < 5 * 60 * 1000;
}

function messageNode(m, prev) {
  const mine = isMine(m);
  const cont = sameRun(prev, m);
  const li = el('li', (mine ? 'msg mine' : 'msg') + (cont ? ' cont' : ''));
  li.dataset.id = m.id;
  if (cont) {
    li.appendChild(el('span', 'avatar-space'));
  } else {
    li.appendChild(avatar(m.headerimg, m.from));
  }
  const body = el('div', 'bubble');
  if (!cont) {
    const head = el('div', 'head');
    head.appendChild(el('span', 'from', mine ? 'you' : m.from));
    const time = el('time', 'time', new Date(m.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    time.dateTime = m.time;
    head.appendChild(time);
    body.appendChild(head);
  } else {
    body.title = new Date(m.time).toLocaleString();
  }
  if (m.deleted) {
    body.appendChild(el('p', 'text deleted', 'message deleted'));
  } else {
    const p = el('p', 'text');
    linkify(p, m.msg);
    if (m.edited_at) {
      const ed = el('span', 'edited', ' (edited)');
      ed.title = 'edited ' + new Date(m.edited_at).toLocaleString();
      p.appendChild(ed);
    }
    body.appendChild(p);
    if (mine && m.id) body.appendChild(changeButtons(m));
  }
  li.appendChild(body);
  return li;
}

// --- editing and deleting one's own messages ---
function changeButtons(m) {
  const box = el('span', 'changes');
  const edit = el('button', 'change', 'Edit');
  edit.type = 'button';
  edit.setAttribute('aria-label', 'Edit this message');
  edit.onclick = () => startEdit(m);
  const del = el('button', 'change', 'Delete');
  del.type = 'button';
  del.setAttribute('aria-label', 'Delete this message');
  del.onclick = () => {
    if (del.dataset.sure !== '1') { // a second click confirms
      del.dataset.sure = '1';
      del.textContent = 'Delete? Yes';
      setTimeout(() => { del.dataset.sure = ''; del.textContent = 'Delete'; }, 4000);
      return;
    }
    change('delete', m);
  };
  box.append(edit, del);
  return box;
}
// where names the conversation of a message for edit and delete.
function where(c) {
  return c.room ? { room: c.name } : c.uid ? { dm_id: c.uid } : { dm: c.title };
}
function change(type, m, text) {
  const c = state.convs.get(state.current);
  if (!c) return false;
  const q = { type, ...where(c), id: m.id, epoch: m.epoch || c.epoch };
  if (text !== undefined) q.msg = text;
  if (!send(q)) { notice('not connected: try again in a moment'); return false; }
  return true;
}
function startEdit(m) {
  state.editing = m;
  $('input').value = m.msg;
  $('input').focus();
  $('editing').hidden = false;
}
function stopEdit() {
  state.editing = null;
  $('editing').hidden = true;
}
// applyChange shows an edited or deleted message where it is.
function applyChange(m) {
  const other = m.room ? null : (isMine(m) ? m.to : m.from);
  const c = m.room ? state.convs.get(roomKey(m.room)) : state.convs.get(dmKey(other));
  if (!c) return;
  const at = c.msgs.findIndex((x) => !x.system && x.id === m.id);
  if (at < 0) return;
  c.msgs[at] = { ...c.msgs[at], msg: m.msg || '', edited_at: m.edited_at, deleted: !!m.deleted };
  if (c.key === state.current) render(true);
}

// render draws the current conversation from scratch (on a switch); with
// keep, what the reader looks at stays in place (older messages were put
// above it) instead of scrolling to the newest.
function render(keep) {
  const c = state.convs.get(state.current);
  const list = $('messages');
  const fromBottom = list.scrollHeight - list.scrollTop;
  list.textContent = '';
  $('title').textContent = c ? (c.room ? '#' + c.name : '@ ' + c.title) : 'No conversation open';
  $('leave').hidden = !c || !c.room;
  if (!c) {
    list.appendChild(el('li', 'system', 'Join a room or send someone a direct message from the side panel.'));
    renderOnline();
    renderTyping();
    renderOutbox();
    return;
  }
  let day = '';
  let prev = null;
  for (const item of c.msgs) {
    if (item.system) { list.appendChild(el('li', 'system', item.text)); prev = item; continue; }
    if (dayOf(item.time) !== day) { day = dayOf(item.time); list.appendChild(el('li', 'day', dayLabel(item.time))); prev = null; }
    list.appendChild(messageNode(item, prev));
    prev = item;
  }
  if (c.loadingOlder) list.prepend(el('li', 'system older', 'loading earlier messages…'));
  else if (firstID(c) === 1) list.prepend(el('li', 'system older', 'the beginning of the conversation'));
  list.scrollTop = keep ? list.scrollHeight - fromBottom : list.scrollHeight;
  // A view not yet full scrolls nowhere: fill it from the history.
  if (list.scrollHeight <= list.clientHeight + 60) setTimeout(loadOlder, 0);
  renderOnline();
  renderTyping();
  renderOutbox();
}

// append adds one item to the current view, with a day separator when
// the day changes.
function append(c, item) {
  if (c.key !== state.current) return;
  const list = $('messages');
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  let before = null; // the entry shown right before item, for grouping
  if (!item.system) {
    const prev = [...c.msgs].reverse().find((x) => !x.system && x !== item);
    const i = c.msgs.indexOf(item);
    before = i > 0 ? c.msgs[i - 1] : null;
    if (!prev || dayOf(prev.time) !== dayOf(item.time)) { list.appendChild(el('li', 'day', dayLabel(item.time))); before = null; }
  }
  list.appendChild(item.system ? el('li', 'system', item.text) : messageNode(item, before));
  if (atEnd || (!item.system && lower(item.from) === lower(state.me.username))) list.scrollTop = list.scrollHeight;
}

function system(c, text) {
  const item = { system: true, text };
  c.msgs.push(item);
  append(c, item);
}

function renderConvs() {
  const rooms = $('rooms');
  const dms = $('dms');
  rooms.textContent = '';
  dms.textContent = '';
  for (const c of state.convs.values()) {
    if (c.room && !c.joined) continue;
    const li = el('li', c.key === state.current ? 'current' : '');
    const b = el('button', 'conv', c.room ? '#' + c.name : c.title);
    b.type = 'button';
    if (c.key === state.current) b.setAttribute('aria-current', 'true');
    b.onclick = () => switchTo(c.key);
    li.appendChild(b);
    if (c.unread > 0) {
      const u = el('span', 'unread', c.unread > 99 ? '99+' : c.unread);
      u.setAttribute('aria-label', `${c.unread} unread`);
      b.appendChild(u);
    }
    (c.room ? rooms : dms).appendChild(li);
  }
  const total = [...state.convs.values()].reduce((n, c) => n + c.unread, 0);
  document.title = total > 0 ? `(${total}) gnetty chat` : 'gnetty chat';
}

// --- the room directory: every room with members, on every node ---
let directoryTimer = 0;
async function refreshDirectory() {
  clearTimeout(directoryTimer);
  directoryTimer = setTimeout(refreshDirectory, 15000);
  if (!state.me) return;
  let rooms;
  try {
    const r = await fetch('/api/rooms', { cache: 'no-store' });
    if (!r.ok) return;
    rooms = (await r.json()).rooms || [];
  } catch { return; }
  const ul = $('directory');
  ul.textContent = '';
  for (const room of rooms) {
    const li = el('li');
    const joined = state.convs.has(roomKey(room.name)) && state.convs.get(roomKey(room.name)).joined;
    const b = el('button', 'conv', '#' + room.name);
    b.type = 'button';
    b.title = joined ? 'Go to #' + room.name : 'Join #' + room.name;
    b.appendChild(el('span', 'count', room.members));
    b.querySelector('.count').setAttribute('aria-label', `${room.members} online`);
    b.onclick = () => joinRoom(room.name);
    li.appendChild(b);
    ul.appendChild(li);
  }
  if (rooms.length === 0) ul.appendChild(el('li', 'hint', 'no rooms yet'));
}
// Back to the tab: the list may be old.
window.addEventListener('focus', () => { if (state.me) refreshDirectory(); });
// A presence change somewhere: refresh soon, once for a burst.
let directorySoon = 0;
function directoryChanged() {
  clearTimeout(directorySoon);
  directorySoon = setTimeout(refreshDirectory, 1000);
}

function joinRoom(r) {
  const c = conv(roomKey(r));
  if (!c.joined) { c.joined = true; send({ type: 'join', room: r, since: c.last, epoch: c.epoch }); }
  switchTo(c.key);
}

function renderOnline() {
  const c = state.convs.get(state.current);
  const list = c && c.room ? c.online : [];
  $('count').textContent = String(c && c.room ? c.count || list.length : 0);
  $('online-box').hidden = !(c && c.room);
  const ul = $('online');
  ul.textContent = '';
  for (const u of list) {
    const li = el('li', 'user');
    const me = state.me && lower(u.username) === lower(state.me.username);
    const b = el('button', 'person');
    b.appendChild(avatar(u.headerimg, u.username, 'avatar small'));
    b.appendChild(el('span', 'name', u.username + (me ? ' (you)' : '')));
    b.type = 'button';
    b.disabled = me;
    b.title = me ? '' : 'Send ' + u.username + ' a direct message';
    b.setAttribute('aria-label', me ? u.username + ' (you)' : 'Direct message ' + u.username);
    b.onclick = () => openDM(u.username);
    li.appendChild(b);
    ul.appendChild(li);
  }
}

function renderTyping() {
  const c = state.convs.get(state.current);
  const now = Date.now();
  const names = c ? [...c.typing].filter(([, until]) => until > now).map(([n]) => n) : [];
  $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`;
}
setInterval(renderTyping, 1000);

function renderOutbox() {
  const ul = $('pending');
  ul.textContent = '';
  for (const m of load(OUTBOX, [])) {
    const where = m.type === 'dm' ? '@' + m.to : '#' + m.room;
    ul.appendChild(el('li', 'pending', `${where}: ${m.msg} (${state.ws && state.ws.readyState === WebSocket.OPEN ? 'sending' : 'waiting for the connection'})`));
  }
}

function switchTo(key) {
  const c = state.convs.get(key);
  if (!c) return;
  if (state.editing && key !== state.current) { $('input').value = ''; stopEdit(); }
  state.current = key;
  c.unread = 0;
  if (c.room) location.hash = c.name; else location.hash = '@' + c.title;
  document.body.classList.remove('show-side');
  renderConvs();
  render();
  $('input').focus();
}

function openDM(name) {
  const c = conv(dmKey(name), name);
  rememberPartner(name);
  if (!c.loaded) { c.loaded = true; send({ type: 'history', dm: c.title, since: 0 }); }
  switchTo(c.key);
}

// --- messages in ---
// A conversation's numbering has an epoch; a new one (the server's store
// lost its data) starts it over, so its ids are not mistaken for old ones.
function epochOf(c, epoch) {
  if (!epoch) return;
  if (c.epoch && c.epoch !== epoch) {
    c.last = 0;
    c.msgs = [];
    system(c, 'message history restarted on the server');
  }
  c.epoch = epoch;
}

// accept adds a message unless it is one already shown; live says it
// just came (it counts as unread elsewhere).
// accept adds m to c; quiet (a page of history) leaves the redrawing of
// older messages to the caller, once for the page.
function accept(c, m, live, quiet) {
  epochOf(c, m.epoch);
  if (m.cid) clearOutbox(m.cid);
  if (c.msgs.some((x) => x.id === m.id && !x.system)) return false;
  if (m.id <= c.last) {
    // older than the newest shown: a page of history from before; keep order
    const at = c.msgs.findIndex((x) => !x.system && x.id > m.id);
    if (at < 0) c.msgs.push(m); else c.msgs.splice(at, 0, m);
    c.olderAdded = true;
    if (!quiet && c.key === state.current) render(true);
    return true;
  }
  c.last = m.id;
  c.msgs.push(m);
  if (c.msgs.length > KEEP) c.msgs.splice(0, c.msgs.length - KEEP);
  if (m.from) c.typing.delete(m.from);
  append(c, m);
  const mine = isMine(m);
  if (live && !mine && c.key !== state.current) { c.unread++; renderConvs(); }
  if (c.key === state.current) renderTyping();
  return true;
}

// --- scroll-back: at the top, ask for the page before the first message ---
function firstID(c) {
  const f = c.msgs.find((x) => !x.system);
  return f ? f.id : 0;
}
function loadOlder() {
  const c = state.convs.get(state.current);
  if (!c || c.loadingOlder || c.noOlder) return;
  const first = firstID(c);
  if (first <= 1) return;
  const q = c.room ? { type: 'history', room: c.name, before: first, epoch: c.epoch } : { type: 'history', dm: c.title, before: first, epoch: c.epoch };
  if (!send(q)) return;
  c.loadingOlder = true;
  render(true);
}
$('messages').addEventListener('scroll', () => { if ($('messages').scrollTop < 60) loadOlder(); });

function ack(c) {
  if (c.room) send({ type: 'ack', room: c.name, id: c.last, epoch: c.epoch });
}

function onMessage(m) {
  switch (m.type) {
    case 'handShake':
      onHandshake();
      break;
    case 'login':
    case 'logout': {
      const c = conv(roomKey(m.room));
      c.joined = true;
      c.online = m.user_list || [];
      c.count = m.count;
      if (lower(m.msg) !== lower(state.me.username) || m.type === 'logout') {
        system(c, `${m.msg} ${m.type === 'login' ? 'joined' : 'left'} #${m.room} (${m.count} online)`);
      }
      if (!state.current) state.current = c.key;
      renderConvs();
      if (c.key === state.current) renderOnline();
      directoryChanged();
      break;
    }
    case 'user': {
      const c = conv(roomKey(m.room));
      c.joined = true;
      if (accept(c, m, true)) { ack(c); maybeNotify(m, false); }
      break;
    }
    case 'dm': {
      const other = isMine(m) ? m.to : m.from;
      const c = conv(dmKey(other), other);
      c.uid = isMine(m) ? m.to_id || c.uid : m.from_id || c.uid; // typing goes to the identity
      c.typing.delete(m.from);
      rememberPartner(other);
      if (accept(c, m, true)) maybeNotify(m, true);
      renderConvs();
      break;
    }
    case 'typing': {
      const c = m.dm ? conv(dmKey(m.dm), m.dm) : conv(roomKey(m.room));
      if (m.dm && m.dm_id) c.uid = m.dm_id;
      c.typing.set(m.name, Date.now() + 4000);
      if (c.key === state.current) renderTyping();
      break;
    }
    case 'history': {
      const c = m.dm ? conv(dmKey(m.dm), m.dm) : conv(roomKey(m.room));
      if (!m.dm) c.joined = true;
      epochOf(c, m.epoch);
      let got = false;
      c.olderAdded = false;
      for (const h of m.messages || []) {
        if (m.dm) h.to = h.to || m.dm;
        else h.room = m.room;
        got = accept(c, h, false, true) || got;
      }
      if (c.loadingOlder) {
        c.loadingOlder = false;
        if (!(m.messages || []).length) c.noOlder = true; // nothing before: the first is gone (or never was)
      }
      if (c.olderAdded && c.key === state.current) render(true);
      if (got) ack(c);
      // A resume longer than a page: ask for the next one until caught up.
      if (got && m.more && c.last < (m.last || 0)) {
        send(m.dm ? { type: 'history', dm: m.dm, since: c.last, epoch: c.epoch } : { type: 'history', room: m.room, since: c.last, epoch: c.epoch });
      }
      renderConvs();
      break;
    }
    case 'edited':
    case 'deleted':
      applyChange(m);
      break;
    case 'system':
      if (state.current) system(state.convs.get(state.current), m.msg);
      break;
    case 'error':
      notice(m.msg);
      if (m.code === 'no_such_user') dropFailedDMs();
      break;
  }
}

// --- desktop notifications: asked for on a click, never on load; shown
// for a direct message or a mention of my name while the tab is hidden ---
function notifyButton() {
  const b = $('notify');
  b.hidden = !('Notification' in window) || Notification.permission !== 'default' || !state.me;
}
$('notify').onclick = async () => {
  try { await Notification.requestPermission(); } catch { /* refused or unsupported */ }
  notifyButton();
};
function mentions(text) {
  if (!state.me) return false;
  const name = state.me.username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp('(^|[^\\p{L}\\p{N}_])@?' + name + '($|[^\\p{L}\\p{N}_])', 'iu').test(text);
}
function maybeNotify(m, dm) {
  if (!document.hidden || isMine(m) || !('Notification' in window) || Notification.permission !== 'granted') return;
  if (!dm && !mentions(m.msg)) return;
  let n;
  try {
    n = new Notification(dm ? `${m.from} (direct message)` : `${m.from} in #${m.room}`, { body: m.msg.slice(0, 200), tag: dm ? 'dm-' + lower(m.from) : 'room-' + m.room });
  } catch { return; } // a browser that notifies only through a service worker
  n.onclick = () => { window.focus(); switchTo(dm ? dmKey(m.from) : roomKey(m.room)); n.close(); };
}

function notice(text) {
  $('notice').textContent = text;
  clearTimeout(state.noticeTimer);
  state.noticeTimer = setTimeout(() => { $('notice').textContent = ''; }, 5000);
}

// --- the connection ---
function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(obj)); return true; }
  return false;
}

function homeRoom() {
  const c = state.convs.get(state.current);
  if (c && c.room) return c.name;
  for (const x of state.convs.values()) if (x.room && x.joined) return x.name;
  return 'lobby';
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  setState('connecting');
  const home = homeRoom();
  const ws = new WebSocket(`${proto}//${location.host}/ws/chat/${encodeURIComponent(home)}`);
  state.ws = ws;
  ws.onopen = () => { state.backoff = 1000; setState('connected'); };
  ws.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    onMessage(m);
  };
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    state.ws = null;
    renderOutbox();
    if (e.code === 1008 && !state.me) return;
    if (e.code === 1000 && e.reason === 'logged out') { state.me = null; showLogin(); setState('offline'); return; }
    scheduleReconnect();
  };
}

// onHandshake resumes every conversation from the last id it has (one
// message each), then sends the outbox, so nothing is missed or doubled.
function onHandshake() {
  const home = homeRoom();
  const h = state.convs.get(roomKey(home));
  if (h && h.last > 0) send({ type: 'history', room: home, since: h.last, epoch: h.epoch });
  for (const c of state.convs.values()) {
    if (c.room && c.joined && c.name !== home) send({ type: 'join', room: c.name, since: c.last, epoch: c.epoch });
  }
  for (const name of load(PARTNERS, [])) {
    const c = conv(dmKey(name), name);
    c.loaded = true;
    send({ type: 'history', dm: c.title, since: c.last, epoch: c.epoch });
  }
  flushOutbox();
}

// scheduleReconnect tries again after a capped exponential backoff with
// jitter, for as long as the page is open: every failure (the server
// down, a network error, a 503) schedules the next try; only a 401 (the
// session is gone) goes back to the login form. The badge counts down.
function scheduleReconnect() {
  const wait = Math.min(state.backoff, 30000) * (0.5 + Math.random() / 2);
  state.backoff = Math.min(state.backoff * 2, 30000);
  const until = Date.now() + wait;
  clearInterval(state.countdown);
  const tick = () => setState('reconnecting', `reconnecting in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))}s`);
  tick();
  state.countdown = setInterval(tick, 1000);
  setTimeout(async () => {
    clearInterval(state.countdown);
    if (!state.me) return;
    try {
      const r = await fetch('/api/session', { cache: 'no-store' });
      if (!r.ok) throw new Error('status ' + r.status);
      if (!(await r.json()).user) { state.me = null; showLogin(); setState('offline'); return; }
    } catch (err) {
      scheduleReconnect(); // still down: keep trying
      return;
    }
    connect();
  }, wait);
}

// --- the outbox: every message until the server's copy comes back ---
function newCID() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}
function clearOutbox(cid) {
  const list = load(OUTBOX, []);
  const left = list.filter((m) => m.cid !== cid);
  if (left.length !== list.length) { save(OUTBOX, left); renderOutbox(); }
}
function dropFailedDMs() {
  // A dm to a name the server has never seen is refused, not stored: it
  // must not wait in the outbox for ever, nor the name stay listed. The
  // refused ones are those to a partner with no message yet.
  const unknown = (to) => { const c = state.convs.get(dmKey(to)); return !c || c.last === 0; };
  save(OUTBOX, load(OUTBOX, []).filter((m) => m.type !== 'dm' || !unknown(m.to)));
  save(PARTNERS, load(PARTNERS, []).filter((n) => !unknown(n)));
  for (const c of [...state.convs.values()]) {
    if (!c.room && c.last === 0) {
      state.convs.delete(c.key);
      if (state.current === c.key) state.current = roomKey(homeRoom());
    }
  }
  renderConvs();
  render();
}
// post queues msg for the current conversation; false when there is none.
function post(msg) {
  const c = state.convs.get(state.current);
  if (!c || (c.room && !c.joined)) return false;
  const m = c.room ? { type: 'user', room: c.name, msg, cid: newCID() } : { type: 'dm', to: c.title, msg, cid: newCID() };
  const list = load(OUTBOX, []);
  list.push(m);
  save(OUTBOX, list);
  send(m);
  renderOutbox();
  return true;
}
function flushOutbox() {
  for (const m of load(OUTBOX, [])) send(m); // the server answers a cid it has with the stored message
  renderOutbox();
}

// --- start and the controls ---
async function start() {
  renderOutbox();
  const sel = $('avatar');
  for (const k of Object.keys(AVATARS)) { const o = el('option', '', k); o.value = k; sel.appendChild(o); }
  sel.selectedIndex = Math.floor(Math.random() * sel.options.length);
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith('@')) state.wantDM = hash.slice(1);
  else if (hash) state.current = roomKey(hash);
  if (!state.current) state.current = roomKey('lobby');
  let me = null;
  try {
    const r = await fetch('/api/session', { cache: 'no-store' });
    if (!r.ok) throw new Error('status ' + r.status);
    me = (await r.json()).user;
  } catch (err) {
    // The server is unreachable (or its sessions are) as the page loads:
    // keep trying.
    setTimeout(start, 2000);
    setState('offline', 'server unreachable, retrying');
    return;
  }
  if (me) {
    state.me = me;
    enter();
  } else {
    showLogin();
    $('name').focus();
  }
}

function enter() {
  showChat();
  conv(state.current).joined = true;
  renderConvs();
  render();
  connect();
  if (state.wantDM) { const n = state.wantDM; state.wantDM = null; setTimeout(() => openDM(n), 0); }
}

$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  let r;
  try {
    r = await fetch('/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: $('name').value, password: $('password').value, avatar: $('avatar').value }) });
  } catch (err) {
    $('login-error').textContent = 'the server is unreachable; try again in a moment';
    return;
  }
  if (!r.ok) {
    const text = (await r.text()).trim();
    let msg = text;
    let code = '';
    try { const j = JSON.parse(text); msg = j.msg || text; code = j.code || ''; } catch { /* plain text */ }
    $('login-error').textContent = LOGIN_ERRORS[code] || msg;
    if (code === 'name_taken' || code === 'bad_credentials') $('password').focus();
    return;
  }
  $('login-error').textContent = '';
  $('password').value = '';
  state.me = await r.json();
  enter();
};

// What a refused login means, by its code: "taken" and "wrong password"
// are told apart by whether a password was given, never by who holds
// the name.
const LOGIN_ERRORS = {
  name_taken: 'That name is taken. If it is yours, enter its password.',
  bad_credentials: 'Wrong password, or that name belongs to someone else.',
  password_required: 'This chat has no guests: enter a password.',
  weak_password: 'A new account needs a password of at least 8 characters.',
  rate_limited: 'Too many attempts; wait a minute and try again.',
  bad_name: 'Names are up to 32 letters, digits and punctuation, with nothing invisible.',
};

async function logout(everywhere) {
  try {
    await fetch('/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ everywhere }) });
  } catch { /* logged out locally anyway */ }
  state.me = null;
  if (state.ws) { const ws = state.ws; state.ws = null; ws.close(1000, 'logout'); }
  state.convs.clear();
  save(PARTNERS, []);
  save(OUTBOX, []);
  state.current = roomKey('lobby');
  $('messages').textContent = '';
  setState('offline');
  showLogin();
}
$('logout').onclick = () => logout(false);
$('logout-all').onclick = () => logout(true);

$('compose').onsubmit = (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text) return;
  if (state.editing) {
    if (change('edit', state.editing, text)) { $('input').value = ''; stopEdit(); }
    return;
  }
  if (!post(text)) {
    // Nowhere to send it: keep it in the field and say why.
    notice('Join a room or open a direct message first: your message is kept in the box.');
    return;
  }
  $('input').value = '';
  state.lastTyping = 0; // typing again after a message says so at once
};
// Enter sends (the form's submit); kept for pages driven by key events.
$('input').onkeydown = (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('compose').requestSubmit(); }
  if (e.key === 'Escape' && state.editing) { $('input').value = ''; stopEdit(); }
};
$('cancel-edit').onclick = () => { $('input').value = ''; stopEdit(); $('input').focus(); };
$('input').oninput = () => {
  const c = state.convs.get(state.current);
  if (!c || !$('input').value) return;
  if (Date.now() - state.lastTyping > 3000) {
    state.lastTyping = Date.now();
    send(c.room ? { type: 'typing', room: c.name } : c.uid ? { type: 'typing', to_id: c.uid } : { type: 'typing', to: c.title });
  }
};

$('join-form').onsubmit = (e) => {
  e.preventDefault();
  const r = $('join-room').value.trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(r)) { notice('room names are 1 to 64 letters, digits, - or _'); return; }
  $('join-room').value = '';
  joinRoom(r);
};

$('dm-form').onsubmit = (e) => {
  e.preventDefault();
  const n = $('dm-name').value.trim();
  if (!n) return;
  $('dm-name').value = '';
  openDM(n);
};

$('leave').onclick = () => {
  const c = state.convs.get(state.current);
  if (!c || !c.room) return;
  send({ type: 'leave', room: c.name });
  c.joined = false;
  state.convs.delete(c.key);
  const next = [...state.convs.values()].find((x) => x.room && x.joined) || [...state.convs.values()][0];
  if (next) switchTo(next.key);
  else { state.current = null; renderConvs(); render(); }
  directoryChanged();
};

$('menu').onclick = () => document.body.classList.toggle('show-side');

start();
