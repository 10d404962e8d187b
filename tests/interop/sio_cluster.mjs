// Two Socket.IO nodes that share a Redis: clients on either node meet in
// rooms and see each other's broadcasts. Usage:
//
//	node sio_cluster.mjs http://NODE1 http://NODE2
//
// Prints one JSON line and exits 0, or prints what failed and exits 1.
import { io } from 'socket.io-client';
import assert from 'node:assert/strict';

const [u1, u2] = process.argv.slice(2);
const fail = (e) => { console.error(e?.stack || String(e)); process.exit(1); };
setTimeout(() => fail(new Error('cluster scenario timed out')), 30000).unref();
const until = async (what, f, ms = 10000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const connect = (u, transports) => new Promise((res, rej) => {
  const s = io(u, { forceNew: true, transports });
  s.once('connect', () => res(s));
  s.once('connect_error', rej);
});
try {
  const a = await connect(u1, ['websocket']);
  const b = await connect(u2, ['polling']);
  const c = await connect(u1, ['websocket']);
  const seen = { a: [], b: [], c: [] };
  for (const [k, s] of Object.entries({ a, b, c })) s.on('said', (m) => seen[k].push(m.msg));
  assert.equal(await a.emitWithAck('join', 'shared'), 'ok');
  assert.equal(await b.emitWithAck('join', 'shared'), 'ok');
  assert.equal(await a.emitWithAck('say', { room: 'shared', msg: 'from node 1' }), 'ok');
  assert.equal(await b.emitWithAck('say', { room: 'shared', msg: 'from node 2' }), 'ok');
  await until('b hears node 1', () => seen.b.includes('from node 1'));
  await until('a hears node 2', () => seen.a.includes('from node 2'));
  assert.deepEqual(seen.a, ['from node 2'], 'the sender is skipped on its own node');
  assert.deepEqual(seen.b, ['from node 1'], 'the sender is skipped across nodes');
  // A namespace-wide broadcast (the chat demo's) reaches both nodes.
  const joined = new Promise((res) => c.once('user joined', res));
  const joinedB = new Promise((res) => b.once('user joined', res));
  a.emit('add user', 'alice');
  assert.equal((await joined).username, 'alice');
  assert.equal((await joinedB).username, 'alice');
  assert.equal(await c.emitWithAck('echo', 'sync'), 'sync');
  assert.deepEqual(seen.c, [], 'not in the room: nothing');
  for (const s of [a, b, c]) s.close();
  console.log(JSON.stringify({ ok: true, a: seen.a, b: seen.b }));
  process.exit(0);
} catch (e) {
  fail(e);
}
