// Node ws clients of the chat change messages across two nodes: ann on the
// first node posts, edits and deletes her messages; bob on the second sees
// each change live, is refused when he tries to change hers, and reads
// the changes in history. With "check" as the first argument instead, a
// newcomer on the given node reads the history and checks the changes are
// still there (after a restart). Prints one JSON line; exits non-zero on
// failure.
import WebSocket from 'ws';

const fail = (msg) => { console.log(JSON.stringify({ ok: false, msg })); process.exit(1); };
setTimeout(() => fail('timeout'), 20000).unref();

// client logs name in at base and connects to room; next(type) resolves
// with the next message of that type.
async function client(base, name, room) {
  const r = await fetch(base + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, avatar: 'frog' }) });
  if (!r.ok) fail(`login ${name}: ${r.status}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const ws = new WebSocket(base.replace('http', 'ws') + '/ws/chat/' + room, { headers: { Cookie: cookie } });
  const queue = [];
  const waiting = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m); else queue.push(m);
  });
  ws.on('error', (e) => fail(`${name}: ${e}`));
  await new Promise((resolve) => ws.once('open', resolve));
  const next = (type) => {
    const i = queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
    return new Promise((resolve) => waiting.push({ type, resolve }));
  };
  const send = (m) => ws.send(JSON.stringify(m));
  await next('history');
  return { ws, next, send };
}

const room = 'edits';
if (process.argv[2] === 'check') {
  const [base, editedID, deletedID] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const cat = await client(base, 'cat', room);
  cat.send({ type: 'history', room, since: 0 });
  const h = await cat.next('history');
  const edited = h.messages.find((m) => m.id === editedID);
  const deleted = h.messages.find((m) => m.id === deletedID);
  if (!edited || edited.msg !== 'edited text' || !edited.edited_at) fail('the edit is gone: ' + JSON.stringify(edited));
  if (!deleted || !deleted.deleted || 'msg' in deleted) fail('the delete is gone: ' + JSON.stringify(deleted));
  console.log(JSON.stringify({ ok: true }));
  process.exit(0);
}

const [base1, base2] = [process.argv[2], process.argv[3]];
const ann = await client(base1, 'ann', room);
const bob = await client(base2, 'bob', room);
const say = async (text) => {
  ann.send({ type: 'user', room, msg: text });
  for (;;) { const m = await ann.next('user'); if (m.msg === text) { await bob.next('user'); return m; } }
};
const one = await say('first text');
const two = await say('to be deleted');
ann.send({ type: 'edit', room, id: one.id, epoch: one.epoch, msg: 'edited text' });
for (const c of [ann, bob]) {
  const e = await c.next('edited');
  if (e.id !== one.id || e.msg !== 'edited text' || !e.edited_at || e.from !== 'ann') fail('edited: ' + JSON.stringify(e));
}
bob.send({ type: 'edit', room, id: one.id, msg: 'bob was here' });
if ((await bob.next('error')).code !== 'forbidden') fail("bob's edit was not refused");
bob.send({ type: 'delete', room, id: two.id });
if ((await bob.next('error')).code !== 'forbidden') fail("bob's delete was not refused");
ann.send({ type: 'delete', room, id: two.id, epoch: two.epoch });
for (const c of [ann, bob]) {
  const e = await c.next('deleted');
  if (e.id !== two.id || !e.deleted || 'msg' in e) fail('deleted: ' + JSON.stringify(e));
}
bob.send({ type: 'history', room, since: 0 });
const h = await bob.next('history');
const ids = h.messages.map((m) => [m.id, m.msg, !!m.deleted, !!m.edited_at]);
if (JSON.stringify(ids) !== JSON.stringify([[one.id, 'edited text', false, true], [two.id, undefined, true, true]])) fail('history: ' + JSON.stringify(ids));
ann.ws.close(1000);
bob.ws.close(1000);
console.log(JSON.stringify({ ok: true, edited: one.id, deleted: two.id }));
process.exit(0);
