// The official Node socket.io server for benchmarks/siobench: the same
// events as the gnetty side. Listens on $PORT (127.0.0.1).
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { perMessageDeflate: false });
io.on('connection', (socket) => {
  socket.on('echo', (...args) => { const ack = args.pop(); ack(...args); });
  socket.on('join', (room, ack) => { socket.join(room); ack('ok'); });
  socket.on('pub', (m) => io.to(m.room).emit('msg', m));
});
http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { io.close(); process.exit(0); });
