// The Node.js `ws` peer of the WebSocket workloads (perf/web_bench.sh): a server and its clients.
// `ws` comes from test/interop/node_modules (pinned there; NODE_PATH points at it).
//
//   node ws_peer.js server PORT
//       /echo: each message back; /room/NAME: "joined", then each message to the room's other
//       members (a loop of send over them). Prints "ready" once listening.
//   node ws_peer.js echo URL CONNECTIONS SECONDS SIZE
//       each connection sends one SIZE-byte text message and waits for it, again and again.
//       Prints "msgs_per_s=N messages=N".
//   node ws_peer.js broadcast URL SUBSCRIBERS SECONDS SIZE DEPTH
//       one publisher and SUBSCRIBERS subscribers in one room; the publisher keeps DEPTH
//       messages in flight as the first subscriber sees them. Prints "deliveries_per_s=N ...".
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const [mode, ...args] = process.argv.slice(2);

function server(port) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(port), perMessageDeflate: false });
  const rooms = new Map();
  wss.on('connection', (ws, request) => {
    if (request.url === '/echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      return;
    }
    const name = request.url.replace(/^\/room\//, '');
    if (!rooms.has(name)) rooms.set(name, new Set());
    const members = rooms.get(name);
    members.add(ws);
    ws.send('joined');
    ws.on('message', (data, isBinary) => {
      for (const other of members) {
        if (other !== ws && other.readyState === WebSocket.OPEN) other.send(data, { binary: isBinary });
      }
    });
    ws.on('close', () => members.delete(ws));
  });
  wss.on('listening', () => console.log('ready'));
}

// Resolves once open (with `untilMessage`: once its first message came, which may arrive in the
// same read as the handshake's answer, before a listener added after 'open' would run).
function open(url, untilMessage = false) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once(untilMessage ? 'message' : 'open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function echo(url, connections, seconds, size) {
  const sockets = await Promise.all(Array.from({ length: Number(connections) }, () => open(url)));
  const message = 'x'.repeat(Number(size));
  let count = 0;
  let running = true;
  const start = process.hrtime.bigint();
  for (const ws of sockets) {
    ws.on('message', () => {
      ++count;
      if (running) ws.send(message);
    });
    ws.send(message);
  }
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`msgs_per_s=${Math.round(count / elapsed)} messages=${count}`);
  for (const ws of sockets) ws.terminate();
}

async function broadcast(url, subscribers, seconds, size, depth) {
  const publisher = await open(url, true);  // in the room once "joined" came
  const subs = [];
  for (let i = 0; i < Number(subscribers); ++i) subs.push(await open(url, true));
  const message = Buffer.alloc(Number(size), 'x');
  let deliveries = 0;
  let sent = 0;
  let seen = 0;  // as the first subscriber sees them
  let running = true;
  const pump = () => {
    while (running && sent - seen < Number(depth)) {
      publisher.send(message);
      ++sent;
    }
  };
  subs.forEach((ws, i) => ws.on('message', () => {
    ++deliveries;
    if (i === 0) {
      ++seen;
      pump();
    }
  }));
  const start = process.hrtime.bigint();
  pump();
  await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`deliveries_per_s=${Math.round(deliveries / elapsed)} deliveries=${deliveries}`);
  publisher.terminate();
  for (const ws of subs) ws.terminate();
}

const modes = { server, echo, broadcast };
if (!modes[mode]) {
  console.error('usage: ws_peer.js server PORT | echo URL CONNS SECONDS SIZE | broadcast URL SUBS SECONDS SIZE DEPTH');
  process.exit(2);
}
Promise.resolve(modes[mode](...args)).catch((e) => {
  console.error(`ws_peer: ${e.message}`);
  process.exit(1);
});
