// Node.js's ws against ws_echo: text and binary messages of every length encoding come back
// whole, with their type, in order; with and without permessage-deflate.
//
//   node echo.js ws://127.0.0.1:PORT/echo
'use strict';

const {MAX_MESSAGE_BYTES, check, connect, checkEcho, bytes, text, run} = require('./common');

// 7-bit lengths (0-125), 16-bit (126-65535), 64-bit (65536 on), up to the server's limit.
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1000000, MAX_MESSAGE_BYTES];

// One message at a time: each echo checked before the next is sent.
async function oneByOne(url, perMessageDeflate) {
  const peer = await connect(url, {perMessageDeflate, maxPayload: 2 * MAX_MESSAGE_BYTES});
  for (const size of SIZES) {
    const t = text(size);
    peer.ws.send(t);
    checkEcho(await peer.message(), t, `text of ${size} bytes`);
    // Random bytes do not compress: deflated, the frame is a little longer than the message,
    // and the server (as ws does) applies its limit to the frame as it arrives, so the largest
    // binary message compressed is the one under the limit by a margin.
    if (perMessageDeflate && size === MAX_MESSAGE_BYTES) continue;
    const b = bytes(size, size + 7);
    peer.ws.send(b);
    checkEcho(await peer.message(), b, `binary of ${size} bytes`);
  }
  peer.ws.close(1000);
  const closed = await peer.closed();
  check(closed.code === 1000, `closed with ${closed.code}, not 1000`);
}

// Everything sent at once: the echoes come back in the order sent.
async function pipelined(url, perMessageDeflate) {
  const peer = await connect(url, {perMessageDeflate, maxPayload: 2 * MAX_MESSAGE_BYTES});
  const sent = [];
  for (let i = 0; i < 200; ++i) {
    const size = SIZES[i % 7];  // the small ones
    sent.push(i % 2 ? bytes(size, i + 1) : `${i}: ${text(size)}`);
  }
  for (const m of sent) peer.ws.send(m);
  for (let i = 0; i < sent.length; ++i) checkEcho(await peer.message(), sent[i], `message ${i}`);
  peer.ws.close(1000);
  await peer.closed();
}

run('echo', [
  ['each size, text and binary, no extension', (url) => oneByOne(url, false)],
  ['each size, text and binary, permessage-deflate', (url) => oneByOne(url, true)],
  ['200 messages sent at once come back in order', (url) => pipelined(url, false)],
  ['the same with permessage-deflate', (url) => pipelined(url, true)],
]);
