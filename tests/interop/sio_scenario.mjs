// One Socket.IO scenario for the stock socket.io-client, run against
// examples/socketio and against the official Node server (sio_server.mjs)
// so that the scenario itself is proven right. Usage:
//
//	node sio_scenario.mjs http://127.0.0.1:PORT
//
// Prints one JSON line {"ok": true, "checks": [...]} and exits 0, or
// prints what failed and exits 1.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import assert from 'node:assert/strict';

const url = process.argv[2];
const checks = [];
const fail = (e) => { console.error(e?.stack || String(e)); process.exit(1); };
setTimeout(() => fail(new Error('scenario timed out')), 50000).unref();

const open = [];
function client(opts = {}, nsp = '/') {
  const s = io(url + (nsp === '/' ? '' : nsp), { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200, ...opts });
  open.push(s);
  return s;
}
const once = (s, ev, ms = 5000) => new Promise((res, rej) => {
  const t = setTimeout(() => rej(new Error(`no ${ev} within ${ms} ms`)), ms);
  s.once(ev, (...a) => { clearTimeout(t); res(a); });
});
const connected = async (s) => { if (!s.connected) await once(s, 'connect'); return s; };
const until = async (what, f, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const check = (name) => { checks.push(name); if (process.env.SIO_VERBOSE) console.error('ok:', name); };

// An argument list with text, numbers, nesting, unicode and binary.
const bin = Buffer.from([0, 1, 2, 253, 254, 255]);
const args = ['héllo ✓', 42, { nested: { list: [1, 'two', null], flag: true } }, bin, { buf: Buffer.from('inner') }];
// With connection state recovery on, every emit carries its offset as a
// last argument (the Node server's behaviour, kept by gnetty).
function sameArgs(got, label) {
  if (got.length === args.length + 1 && typeof got[got.length - 1] === 'string') got = got.slice(0, -1);
  assert.equal(got.length, args.length, `${label}: argument count`);
  assert.equal(got[0], args[0]);
  assert.equal(got[1], args[1]);
  assert.deepEqual(got[2], args[2]);
  assert.ok(Buffer.isBuffer(got[3]) && got[3].equals(bin), `${label}: binary argument`);
  assert.ok(Buffer.isBuffer(got[4].buf) && got[4].buf.toString() === 'inner', `${label}: nested binary`);
}

async function echoOver(transports) {
  const s = await connected(client({ transports }));
  answerQuestions(s);
  assert.equal(s.io.engine.transport.name, transports[0]);
  const event = once(s, 'echo');
  const acked = await new Promise((res) => s.timeout(5000).emit('echo', ...args, (err, ...a) => res(err ? fail(err) : a)));
  sameArgs(acked, `${transports} ack`);
  sameArgs(await event, `${transports} event`);
  const big = 'x'.repeat(200 * 1000);
  const [echoedBig] = await new Promise((res) => s.timeout(10000).emit('echo', big, (err, ...a) => res(err ? fail(err) : a)));
  assert.equal(echoedBig, big, `${transports}: 200 KB payload`);
  const answer = await s.timeout(5000).emitWithAck('ask', 'what?', bin);
  assert.equal(answer, 'answer to what?', `${transports}: server ack`);
  s.close();
  check(`${transports.join('+')}: echo, acks both ways, binary, 200 KB`);
}

function answerQuestions(s) {
  s.on('question', (q, b, ack) => {
    assert.ok(Buffer.isBuffer(b) && b.equals(bin), 'question binary');
    ack('answer to ' + q);
  });
}

async function chatDemo() {
  const a = client({ transports: ['websocket'] });
  const b = client();
  await connected(a); await connected(b);
  a.emit('add user', 'alice');
  const [loginA] = await once(a, 'login');
  assert.equal(loginA.numUsers, 1);
  const joined = once(a, 'user joined');
  b.emit('add user', 'bob');
  const [loginB] = await once(b, 'login');
  assert.equal(loginB.numUsers, 2);
  const [j] = await joined;
  assert.deepEqual({ username: j.username, numUsers: j.numUsers }, { username: 'bob', numUsers: 2 });
  const msg = once(b, 'new message');
  a.emit('new message', 'hi bob');
  const [m] = await msg;
  assert.deepEqual({ username: m.username, message: m.message }, { username: 'alice', message: 'hi bob' });
  const typing = once(b, 'typing');
  a.emit('typing');
  assert.equal((await typing)[0].username, 'alice');
  const stop = once(b, 'stop typing');
  a.emit('stop typing');
  assert.equal((await stop)[0].username, 'alice');
  const left = once(a, 'user left');
  b.close();
  const [l] = await left;
  assert.deepEqual({ username: l.username, numUsers: l.numUsers }, { username: 'bob', numUsers: 1 });
  a.close();
  check('chat demo: login, user joined, new message, typing, stop typing, user left');
}

async function upgradeKeepsOrder() {
  // Emits start before the connection is up and go on, spread out, while
  // the transport moves from polling to WebSocket.
  const s = client();
  const upgraded = new Promise((res) => s.io.engine.once('upgrade', res));
  const n = 60;
  const got = [];
  s.on('echo', (i) => got.push(i));
  const acks = [];
  for (let i = 0; i < n; i++) {
    acks.push(s.timeout(10000).emitWithAck('echo', i));
    if (i >= n / 3) await new Promise((r) => setTimeout(r, 2));
  }
  const results = await Promise.all(acks);
  await upgraded;
  await until('all echoes', () => got.length >= n);
  assert.deepEqual(results, [...Array(n).keys()], 'acks across the upgrade');
  assert.deepEqual(got, [...Array(n).keys()], 'events across the upgrade: none lost, none doubled, in order');
  assert.equal(s.io.engine.transport.name, 'websocket');
  s.close();
  check('upgrade polling -> websocket: 60 emits across it, none lost or doubled');
}

async function rooms() {
  const [a, b, c] = [client(), client({ transports: ['websocket'] }), client({ transports: ['polling'] })];
  await Promise.all([a, b, c].map(connected));
  assert.equal(await a.emitWithAck('join', 'r1'), 'ok');
  assert.equal(await b.emitWithAck('join', 'r1'), 'ok');
  assert.equal(await c.emitWithAck('join', 'r2'), 'ok');
  const seen = { a: [], b: [], c: [] };
  a.on('said', (m) => seen.a.push(m));
  b.on('said', (m) => seen.b.push(m));
  c.on('said', (m) => seen.c.push(m));
  assert.equal(await a.emitWithAck('say', { room: 'r1', msg: 'to r1' }), 'ok');
  assert.equal(await c.emitWithAck('say', { room: 'r1', msg: 'from outside' }), 'ok');
  await until('b got both', () => seen.b.length === 2);
  await until('a got one', () => seen.a.length === 1);
  assert.deepEqual(seen.b.map((m) => m.msg), ['to r1', 'from outside']);
  assert.equal(seen.b[0].from, a.id);
  assert.deepEqual(seen.a.map((m) => m.msg), ['from outside'], 'the sender is skipped');
  assert.equal(await c.emitWithAck('say', { room: 'r2', msg: 'alone' }), 'ok');
  assert.equal(await a.emitWithAck('echo', 'sync'), 'sync'); // a's queue is flushed past any stray said
  assert.equal(seen.c.length, 0, 'a room only the sender is in delivers nothing');
  [a, b, c].forEach((s) => s.close());
  check('rooms: join, to(room) except the sender, not to others');
}

async function namespaces() {
  const refused = client({ auth: { token: 'wrong' } }, '/private');
  const [err] = await once(refused, 'connect_error');
  assert.equal(err.message, 'not authorized');
  assert.deepEqual(err.data, { hint: 'auth.token' });
  refused.close();
  const ok = client({ auth: { token: 'secret' } }, '/private');
  const welcome = once(ok, 'welcome');
  await connected(ok);
  assert.equal((await welcome)[0], 'private');
  assert.equal(await ok.emitWithAck('echo', 'in private'), 'in private');
  ok.close();
  const none = client({}, '/nope');
  const [e2] = await once(none, 'connect_error');
  assert.equal(e2.message, 'Invalid namespace');
  none.close();
  check('namespaces: auth refused with data, accepted, unknown namespace refused');
}

async function recovery() {
  const r = client({ transports: ['websocket'] });
  const other = client();
  await connected(r); await connected(other);
  assert.equal(r.recovered, false);
  assert.equal(await r.emitWithAck('join', 'rec'), 'ok');
  const said = [];
  r.on('said', (m) => said.push(m.msg));
  await other.emitWithAck('say', { room: 'rec', msg: 'before' });
  await until('before', () => said.length === 1);
  const id = r.id;
  // Lose the connection without a goodbye; wait until the server saw it.
  r.io.engine.close();
  await until('server sees r gone', async () => (await other.emitWithAck('size', 'rec')) === 0);
  await other.emitWithAck('say', { room: 'rec', msg: 'missed 1' });
  await other.emitWithAck('say', { room: 'elsewhere', msg: 'not for r' });
  await other.emitWithAck('say', { room: 'rec', msg: 'missed 2' });
  await connected(r);
  assert.equal(r.recovered, true, 'recovered');
  assert.equal(r.id, id, 'same socket id');
  await until('missed broadcasts replayed', () => said.length === 3);
  assert.deepEqual(said, ['before', 'missed 1', 'missed 2']);
  assert.equal(await other.emitWithAck('size', 'rec'), 1, 'rooms restored');
  r.close();
  // A client whose session is unknown is told so: recovered is false.
  const stranger = client({ auth: { pid: 'no-such-pid', offset: 'no-such-offset' } });
  await connected(stranger);
  assert.equal(stranger.recovered, false);
  stranger.close();
  other.close();
  check('recovery: same id, rooms back, missed broadcasts replayed; unknown session not recovered');
}

async function badInput() {
  const bystander = await connected(client({ transports: ['websocket'] }));
  const base = url + '/socket.io/?EIO=4&transport=polling';
  let res = await fetch(base + '&sid=doesnotexist');
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 1, message: 'Session ID unknown' });
  res = await fetch(url + '/socket.io/?EIO=4&transport=carrier-pigeon');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, 0);
  res = await fetch(url + '/socket.io/?EIO=3&transport=polling');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, 5);
  // A session that sends garbage is closed; its sid is then unknown.
  res = await fetch(base);
  const sid = JSON.parse((await res.text()).slice(1)).sid;
  res = await fetch(base + '&sid=' + sid, { method: 'POST', body: '40' });
  assert.equal(await res.text(), 'ok');
  res = await fetch(base + '&sid=' + sid, { method: 'POST', body: '42garbage[' });
  await res.arrayBuffer();
  await until('garbage session closed', async () => (await fetch(base + '&sid=' + sid)).status === 400);
  // Garbage over a WebSocket: the server closes that connection.
  const ws = new WebSocket(url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket');
  await new Promise((res2, rej) => { ws.once('message', res2); ws.once('error', rej); });
  const closed = new Promise((res2) => ws.once('close', res2));
  ws.send('40');
  ws.send('4{"not":"a packet"}');
  await closed;
  // Everyone else goes on.
  assert.equal(await bystander.timeout(5000).emitWithAck('echo', 'still here'), 'still here');
  bystander.close();
  check('bad input: unknown sid, transport and version get 400 with codes; garbage closes that session only');
}

try {
  await chatDemo();
  await echoOver(['polling']);
  await echoOver(['websocket']);
  await upgradeKeepsOrder();
  await rooms();
  await namespaces();
  await recovery();
  await badInput();
} catch (e) {
  fail(e);
}
for (const s of open) s.close();
console.log(JSON.stringify({ ok: true, checks }));
process.exit(0);
