// gnetty chat page. Every user-supplied string is rendered with
// textContent, never as HTML; avatars come from an allow-listed set.
'use strict';
const AVATARS = { cat: '🐱', dog: '🐶', fox: '🦊', owl: '🦉', panda: '🐼', frog: '🐸', bear: '🐻', koala: '🐨' };
const $ = (id) => document.getElementById(id);
const state = { me: null, room: location.hash.slice(1) || 'lobby', rooms: new Set(), last: {}, epoch: {}, ws: null, backoff: 1000, online: {} };

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
}

function showChat() {
  $('login').hidden = true;
  $('chat').hidden = false;
  $('logout').hidden = false;
  $('me').textContent = (AVATARS[state.me.headerimg] || '') + ' ' + state.me.username;
}

function addLine(room, node) {
  if (room !== state.room) return;
  const list = $('messages');
  list.appendChild(node);
  list.scrollTop = list.scrollHeight;
}

function system(room, text) { addLine(room, el('li', 'system', text)); }

function showMessage(m) {
  const li = el('li', 'msg');
  li.dataset.id = m.id;
  li.appendChild(el('span', 'avatar', AVATARS[m.headerimg] || ''));
  li.appendChild(el('span', 'time', new Date(m.time).toLocaleTimeString()));
  li.appendChild(el('span', 'from', m.from));
  li.appendChild(el('span', 'text', m.msg));
  addLine(m.room, li);
}

// A room's numbering has an epoch; a new one (the server's store lost its
// data) starts the room over, so its ids are not mistaken for old ones.
function epochOf(room, epoch) {
  if (!epoch) return;
  if (state.epoch[room] && state.epoch[room] !== epoch) {
    state.last[room] = 0;
    system(room, 'message history restarted on the server');
  }
  state.epoch[room] = epoch;
}

function accept(m) {
  epochOf(m.room, m.epoch);
  const last = state.last[m.room] || 0;
  if (m.id <= last) return false; // stale or duplicate
  state.last[m.room] = m.id;
  showMessage(m);
  return true;
}

function ack(room) {
  send({ type: 'ack', room, id: state.last[room] || 0, epoch: state.epoch[room] || '' });
}

function renderRooms() {
  const ul = $('rooms');
  ul.textContent = '';
  for (const r of state.rooms) {
    const li = el('li', r === state.room ? 'current' : '', '#' + r);
    li.onclick = () => { state.room = r; location.hash = r; $('messages').textContent = ''; state.last[r] = 0; send({ type: 'history', room: r, since: 0 }); renderRooms(); renderOnline(); };
    ul.appendChild(li);
  }
}

function renderOnline() {
  const list = state.online[state.room] || [];
  $('count').textContent = String(list.length);
  const ul = $('online');
  ul.textContent = '';
  for (const u of list) ul.appendChild(el('li', 'user', (AVATARS[u.headerimg] || '') + ' ' + u.username));
}

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(obj));
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  setState('connecting');
  const ws = new WebSocket(`${proto}//${location.host}/ws/chat/${encodeURIComponent(state.room)}`);
  state.ws = ws;
  ws.onopen = () => { state.backoff = 1000; setState('connected'); };
  ws.onmessage = (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    switch (m.type) {
      case 'handShake':
        // Rejoin the other rooms from the last id seen in each (one
        // message a room), and resume this one, so nothing is missed.
        for (const r of state.rooms) if (r !== state.room) send({ type: 'join', room: r, since: state.last[r] || 0, epoch: state.epoch[r] || '' });
        if ((state.last[state.room] || 0) > 0) send({ type: 'history', room: state.room, since: state.last[state.room], epoch: state.epoch[state.room] || '' });
        flushOutbox();
        break;
      case 'login':
      case 'logout':
        state.rooms.add(m.room);
        state.online[m.room] = m.user_list || [];
        system(m.room, `${m.msg} ${m.type === 'login' ? 'joined' : 'left'} #${m.room} (${m.count} online)`);
        renderRooms();
        renderOnline();
        break;
      case 'user':
        if (accept(m)) ack(m.room);
        break;
      case 'history': {
        epochOf(m.room, m.epoch);
        let got = false;
        for (const h of m.messages || []) got = accept(h) || got;
        if (got) ack(m.room);
        // A resume longer than a page: ask for the next one until caught up.
        if (got && state.last[m.room] < (m.last || 0)) {
          send({ type: 'history', room: m.room, since: state.last[m.room], epoch: state.epoch[m.room] || '' });
        }
        break;
      }
      case 'system':
        system(state.room, m.msg);
        break;
      case 'error':
        $('notice').textContent = m.msg;
        setTimeout(() => { $('notice').textContent = ''; }, 4000);
        break;
    }
  };
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (e.code === 1008 && !state.me) return;
    if (e.code === 1000 && e.reason === 'logged out') { state.me = null; showLogin(); setState('offline'); return; }
    scheduleReconnect();
  };
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
      const r = await fetch('/api/me', { cache: 'no-store' });
      if (r.status === 401) { state.me = null; showLogin(); setState('offline'); return; }
      if (!r.ok) throw new Error('status ' + r.status);
    } catch (err) {
      scheduleReconnect(); // still down: keep trying
      return;
    }
    connect();
  }, wait);
}

// The outbox keeps what was typed while offline (across a reload, in
// localStorage), shows it as pending, and sends it once connected. Only
// messages never handed to an open socket go there, so none is sent twice.
const OUTBOX = 'gnetty-chat-outbox';
function loadOutbox() {
  try { return JSON.parse(localStorage.getItem(OUTBOX) || '[]'); } catch { return []; }
}
function saveOutbox(list) {
  try { localStorage.setItem(OUTBOX, JSON.stringify(list)); } catch { /* storage full or disabled */ }
}
function renderOutbox() {
  const ul = $('pending');
  if (!ul) return;
  ul.textContent = '';
  for (const m of loadOutbox()) ul.appendChild(el('li', 'pending', `#${m.room}: ${m.msg} (waiting for the connection)`));
}
function post(room, msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({ type: 'user', room, msg }));
    return;
  }
  const list = loadOutbox();
  list.push({ room, msg });
  saveOutbox(list);
  renderOutbox();
}
function flushOutbox() {
  const list = loadOutbox();
  if (!list.length || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  for (const m of list) state.ws.send(JSON.stringify({ type: 'user', room: m.room, msg: m.msg }));
  saveOutbox([]);
  renderOutbox();
}

async function start() {
  renderOutbox();
  const sel = $('avatar');
  for (const [k, v] of Object.entries(AVATARS)) { const o = el('option', '', v + ' ' + k); o.value = k; sel.appendChild(o); }
  sel.selectedIndex = Math.floor(Math.random() * sel.options.length);
  let r;
  try {
    r = await fetch('/api/me', { cache: 'no-store' });
  } catch (err) {
    // The server is unreachable as the page loads: keep trying.
    setTimeout(start, 2000);
    setState('offline', 'server unreachable, retrying');
    return;
  }
  if (r.ok) {
    state.me = await r.json();
    showChat();
    connect();
  } else {
    showLogin();
  }
}

$('login-form').onsubmit = async (e) => {
  e.preventDefault();
  let r;
  try {
    r = await fetch('/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: $('name').value, avatar: $('avatar').value }) });
  } catch (err) {
    $('login-error').textContent = 'the server is unreachable; try again in a moment';
    return;
  }
  if (!r.ok) {
    const text = (await r.text()).trim();
    let msg = text;
    try { msg = JSON.parse(text).msg || text; } catch { /* plain text */ }
    $('login-error').textContent = msg; // "that name is in use; pick another", "sessions unavailable, try again", ...
    return;
  }
  state.me = await r.json();
  showChat();
  connect();
};

$('logout').onclick = async () => {
  try { await fetch('/logout', { method: 'POST' }); } catch { /* logged out locally anyway */ }
  state.me = null;
  if (state.ws) { const ws = state.ws; state.ws = null; ws.close(1000, 'logout'); }
  $('messages').textContent = '';
  setState('offline');
  showLogin();
};

$('input').onkeydown = (e) => {
  if (e.key !== 'Enter') return;
  const text = $('input').value.trim();
  if (!text) return;
  post(state.room, text);
  $('input').value = '';
};

$('join-form').onsubmit = (e) => {
  e.preventDefault();
  const r = $('join-room').value.trim();
  if (!r) return;
  state.rooms.add(r);
  send({ type: 'join', room: r });
  $('join-room').value = '';
  state.room = r;
  location.hash = r;
  $('messages').textContent = '';
  renderRooms();
};

start();
