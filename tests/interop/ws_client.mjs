// Node ws client: echoes text, binary and a compressed message through the
// server named on the command line, then closes with 4001. Prints one JSON
// line with what it saw; exits non-zero on any mismatch.
import WebSocket from 'ws';

const url = process.argv[2];
const ws = new WebSocket(url, { perMessageDeflate: true });
const want = [
  'hello from node',
  Buffer.from([0, 1, 2, 250]),
  'x'.repeat(100000),
];
const seen = [];
const fail = (msg) => { console.error(msg); process.exit(1); };
setTimeout(() => fail('timeout'), 10000).unref();

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
  console.log(JSON.stringify({ seen, code, reason: reason.toString(), extensions: ws.extensions }));
  process.exit(code === 4001 ? 0 : 1);
});
ws.on('error', (e) => fail(String(e)));
