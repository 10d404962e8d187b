// Node ws client: echoes text, binary and compressed messages through the
// server named on the command line, then closes with 4001. Prints one JSON
// line with what it saw; exits non-zero on any mismatch.
//
// An optional second argument is ws's perMessageDeflate options as JSON
// (default true). The client then also sends a stream of 200 similar
// chat-like messages, which context takeover compresses across messages.
import WebSocket from 'ws';

const url = process.argv[2];
const deflate = process.argv[3] ? JSON.parse(process.argv[3]) : true;
const ws = new WebSocket(url, { perMessageDeflate: deflate });
const want = [
  'hello from node',
  Buffer.from([0, 1, 2, 250]),
  'x'.repeat(100000),
];
const words = 'hello world the meeting is at noon see you there thanks ok lunch deploy server chat room'.split(' ');
for (let i = 0; i < 200; i++) {
  let text = '';
  for (let j = 0; j < 40 + (i * 7) % 30; j++) text += words[(i * 13 + j * 7) % words.length] + ' ';
  want.push(JSON.stringify({ type: 'message', room: 'general', id: 1000 + i, from: ['alice', 'bob', 'carol'][i % 3], text }));
}
const seen = [];
let answered = '';
ws.on('upgrade', (res) => { answered = res.headers['sec-websocket-extensions'] || ''; });
const fail = (msg) => { console.error(msg); process.exit(1); };
setTimeout(() => fail('timeout'), 20000).unref();

ws.on('open', () => { for (const m of want) ws.send(m); });
ws.on('message', (data, isBinary) => {
  const i = seen.length;
  const w = want[i];
  const ok = isBinary ? Buffer.isBuffer(w) && Buffer.compare(data, w) === 0 : data.toString() === w;
  if (!ok) fail(`message ${i} differs`);
  seen.push(isBinary ? 'binary' : 'text');
  if (seen.length === want.length) ws.close(4001, 'node done');
});
ws.on('close', (code, reason) => {
  console.log(JSON.stringify({ seen: seen.length, code, reason: reason.toString(), extensions: answered }));
  process.exit(code === 4001 ? 0 : 1);
});
ws.on('error', (e) => fail(String(e)));
