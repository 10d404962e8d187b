// Node ws client of the chat: logs in over HTTP, connects with the session
// cookie, sends a message, receives it with its room sequence number, acks
// it, and asks for history. Prints one JSON line; exits non-zero on failure.
import WebSocket from 'ws';

const base = process.argv[2];
const fail = (msg) => { console.log(JSON.stringify({ ok: false, msg })); process.exit(1); };
setTimeout(() => fail('timeout'), 10000).unref();

const r = await fetch(base + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'node', avatar: 'frog' }) });
if (!r.ok) fail('login ' + r.status);
const cookie = r.headers.get('set-cookie').split(';')[0];
const ws = new WebSocket(base.replace('http', 'ws') + '/ws/chat/nodes', { headers: { Cookie: cookie } });
const seen = [];
ws.on('message', (data) => {
  const m = JSON.parse(data.toString());
  seen.push(m.type);
  if (m.type === 'history' && seen.filter((t) => t === 'history').length === 1) {
    ws.send(JSON.stringify({ type: 'user', room: 'nodes', msg: 'from node' }));
  } else if (m.type === 'user') {
    if (m.msg !== 'from node' || m.from !== 'node' || m.id !== 1) fail('bad message ' + JSON.stringify(m));
    ws.send(JSON.stringify({ type: 'ack', room: 'nodes', id: m.id }));
    ws.send(JSON.stringify({ type: 'history', room: 'nodes', since: 0 }));
  } else if (m.type === 'history' && m.messages.length === 1) {
    console.log(JSON.stringify({ ok: true, seen }));
    ws.close(1000);
    process.exit(0);
  }
});
ws.on('error', (e) => fail(String(e)));
