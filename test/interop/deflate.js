// Node.js's ws against ws_echo: permessage-deflate (RFC 7692) as ws offers it by default, and
// with the offer's parameters. Compressible messages of 100 KB round-trip intact, compressed on
// the wire both ways; ws keeps its compression context across messages (context takeover),
// which the server must follow.
//
//   node deflate.js ws://127.0.0.1:PORT/echo
'use strict';

const {check, connect, checkEcho, bytes, text, run} = require('./common');

// 100 KB of text that compresses well but differs from message to message.
function compressible(i, size = 100 * 1000) {
  let s = '';
  for (let line = 0; s.length < size; ++line) {
    s += `{"message": ${i}, "line": ${line}, "text": "snow and ice €", "ok": true}\n`;
  }
  return s.slice(0, size);
}

// Sends each message, checks its echo and that both directions were compressed on the wire.
async function roundTrips(peer, messages) {
  const socket = peer.ws._socket;
  for (const [i, m] of messages.entries()) {
    const written = socket.bytesWritten;
    const read = socket.bytesRead;
    peer.ws.send(m);
    checkEcho(await peer.message(), m, `message ${i} of ${m.length} bytes`);
    const sentBytes = socket.bytesWritten - written;
    const readBytes = socket.bytesRead - read;
    check(sentBytes < m.length / 4, `message ${i}: ws sent ${sentBytes} bytes for ${m.length}`);
    check(readBytes < m.length / 4,
          `message ${i}: the server sent ${readBytes} bytes for ${m.length}: not compressed`);
  }
}

async function negotiated(url, options, expectParameters) {
  const peer = await connect(url, {perMessageDeflate: options});
  check(peer.ws.extensions === 'permessage-deflate',
        `the negotiated extensions are "${peer.ws.extensions}", not permessage-deflate`);
  const header = peer.ws.upgradeHeaders['sec-websocket-extensions'] || '';
  for (const p of expectParameters) {
    check(header.includes(p), `the server's Sec-WebSocket-Extensions "${header}" lacks ${p}`);
  }
  return peer;
}

async function defaultOffer(url) {
  const peer = await negotiated(url, true, ['permessage-deflate']);
  const messages = [];
  for (let i = 0; i < 10; ++i) messages.push(i % 2 ? compressible(i) : Buffer.from(compressible(i)));
  await roundTrips(peer, messages);
  // Small messages (left uncompressed by both sides) and incompressible ones in between.
  for (let i = 0; i < 50; ++i) {
    const m = i % 3 === 0 ? text(i) : i % 3 === 1 ? bytes(i * 100, i + 1) : compressible(i, 2000);
    peer.ws.send(m);
    checkEcho(await peer.message(), m, `mixed message ${i}`);
  }
  await roundTrips(peer, [compressible(99)]);  // the contexts are still in step
  peer.ws.close(1000);
  const closed = await peer.closed();
  check(closed.code === 1000, `closed with ${closed.code}, not 1000`);
}

async function withParameters(url, options, expectParameters) {
  const peer = await negotiated(url, options, expectParameters);
  const messages = [];
  for (let i = 0; i < 5; ++i) messages.push(compressible(i));
  await roundTrips(peer, messages);
  peer.ws.close(1000);
  await peer.closed();
}

run('deflate', [
  ['ws\'s default offer: permessage-deflate, 100 KB messages both ways',
   (url) => defaultOffer(url)],
  ['client_no_context_takeover',
   (url) => withParameters(url, {clientNoContextTakeover: true}, ['client_no_context_takeover'])],
  ['server_no_context_takeover requested',
   (url) => withParameters(url, {serverNoContextTakeover: true}, ['server_no_context_takeover'])],
  ['client_max_window_bits=10',
   (url) => withParameters(url, {clientMaxWindowBits: 10}, ['client_max_window_bits=10'])],
  ['client_max_window_bits=8',
   (url) => withParameters(url, {clientMaxWindowBits: 8}, ['client_max_window_bits=8'])],
  ['server_max_window_bits=15', (url) => withParameters(url, {serverMaxWindowBits: 15}, [])],
  // The server compresses with 15 bits only, so it declines an offer of fewer (RFC 7692 lets
  // it): no extension, and messages still go through.
  ['server_max_window_bits=10 is declined', async (url) => {
    const peer = await connect(url, {perMessageDeflate: {serverMaxWindowBits: 10}});
    check(peer.ws.extensions === '', `extensions "${peer.ws.extensions}": not declined`);
    const m = compressible(2);
    peer.ws.send(m);
    checkEcho(await peer.message(), m, 'a 100 KB message without the extension');
    peer.ws.close(1000);
    await peer.closed();
  }],
  ['no offer: no extension', async (url) => {
    const peer = await connect(url, {perMessageDeflate: false});
    check(peer.ws.extensions === '', `extensions "${peer.ws.extensions}" without an offer`);
    const m = compressible(1);
    peer.ws.send(m);
    checkEcho(await peer.message(), m, 'an uncompressed 100 KB message');
    peer.ws.close(1000);
    await peer.closed();
  }],
]);
