// Node ws server for gnetty's client (websocket.Dial) to talk to. Prints
// {"port": N} once it listens on 127.0.0.1. With CERT and KEY (PEM file
// paths) in the environment it serves wss://.
//
// Paths:
//   /echo       echoes every message with its type; permessage-deflate
//               with context takeover (ws's defaults, threshold 0)
//   /fragments  echoes each message as fragments of 1,000 bytes
//   /ping       pings three times, then sends "pongs N" once N pongs came
//   /close      closes with 4000 "bye" at once
//   /protocol   sends the subprotocol it picked, then echoes
import { createServer as createHTTP } from 'node:http';
import { createServer as createHTTPS } from 'node:https';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';

const tls = process.env.CERT && process.env.KEY;
const server = tls
  ? createHTTPS({ cert: readFileSync(process.env.CERT), key: readFileSync(process.env.KEY) })
  : createHTTP();
server.on('request', (req, res) => { res.writeHead(404); res.end('not a websocket path'); });
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 4 << 20,
  handleProtocols: (protocols) => (protocols.has('chat.v1') ? 'chat.v1' : false),
});
server.on('upgrade', (req, socket, head) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (!['/echo', '/fragments', '/ping', '/close', '/protocol'].includes(path)) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => serve(ws, path));
});

function serve(ws, path) {
  switch (path) {
    case '/echo':
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      break;
    case '/fragments':
      ws.on('message', (data, isBinary) => {
        for (let off = 0; off < data.length || off === 0; off += 1000) {
          const fin = off + 1000 >= data.length;
          ws.send(data.subarray(off, off + 1000), { binary: isBinary, fin });
          if (fin) break;
        }
      });
      break;
    case '/ping': {
      let pongs = 0;
      ws.on('pong', () => { if (++pongs === 3) ws.send('pongs 3'); });
      for (let i = 0; i < 3; i++) ws.ping(Buffer.from('p' + i));
      break;
    }
    case '/close':
      ws.close(4000, 'bye');
      break;
    case '/protocol':
      ws.send('protocol ' + ws.protocol);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      break;
  }
}

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
