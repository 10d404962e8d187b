// Node ws client over wss:// with a test CA: echoes small and 1 MiB text
// and binary messages, with permessage-deflate on or off (argv[4]
// "deflate" or "plain"), then closes with 4001. Prints one JSON line;
// exits non-zero on any mismatch.
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';

const [url, caFile, mode] = process.argv.slice(2);
const ws = new WebSocket(url, { ca: readFileSync(caFile), perMessageDeflate: mode === 'deflate' });
const mib = 1 << 20;
const want = [
  'hello over wss',
  'é'.repeat(mib / 2), // 1 MiB of UTF-8
  Buffer.alloc(mib, 7),
  Buffer.from([0, 1, 2, 250]),
];
const seen = [];
const fail = (msg) => { console.error(msg); process.exit(1); };
setTimeout(() => fail('timeout'), 30000).unref();

let protocol = '';
ws.on('open', () => { protocol = ws._socket.getProtocol(); for (const m of want) ws.send(m); });
ws.on('message', (data, isBinary) => {
  const i = seen.length;
  const w = want[i];
  const ok = isBinary ? Buffer.isBuffer(w) && Buffer.compare(data, w) === 0 : data.toString() === w;
  if (!ok) fail(`message ${i} differs (${data.length} bytes)`);
  seen.push(isBinary ? 'binary' : 'text');
  if (seen.length === want.length) ws.close(4001, 'node done');
});
ws.on('close', (code, reason) => {
  console.log(JSON.stringify({ seen, code, reason: reason.toString(), extensions: ws.extensions, protocol }));
  process.exit(code === 4001 ? 0 : 1);
});
ws.on('error', (e) => fail(String(e)));
