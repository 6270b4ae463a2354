// Node.js's ws against ws_echo: the closing handshake and the close codes the server sends.
// A close from the client is answered with its code; a frame that breaks the protocol (written
// raw on ws's own socket) closes with 1002, invalid UTF-8 with 1007, a message over the limit
// with 1009.
//
//   node close_codes.js ws://127.0.0.1:PORT/echo
'use strict';

const {MAX_MESSAGE_BYTES, check, connect, checkEcho, bytes, run} = require('./common');

// The client closes with `code` and a reason: the server answers with the same code, and ws
// sees a clean close (a close frame both ways, then the end of the connection).
async function clientCloses(url, code, reason) {
  const peer = await connect(url, {perMessageDeflate: false});
  peer.ws.send('still open');
  checkEcho(await peer.message(), 'still open', 'a message before the close');
  peer.ws.close(code, reason);
  const closed = await peer.closed();
  check(closed.code === code, `closed with ${code}, the server answered ${closed.code}`);
  check(peer.ws._closeFrameReceived, 'ws got no close frame from the server');
}

// Writes `raw` (a whole frame, as bytes) on the connection's socket, behind ws's back; the
// server must close with `code`.
async function rawFrameCloses(url, raw, code, what) {
  const peer = await connect(url, {perMessageDeflate: false});
  peer.ws.send('hello');
  checkEcho(await peer.message(), 'hello', 'a message before the bad frame');
  peer.ws._socket.write(Buffer.from(raw));
  const closed = await peer.closed();
  check(closed.code === code, `${what}: the server closed with ${closed.code}, not ${code}`);
}

const MASK = [0x12, 0x34, 0x56, 0x78];
function masked(first, payload) {
  const p = Buffer.from(payload);
  check(p.length < 126, 'masked() writes 7-bit lengths only');
  return [first, 0x80 | p.length, ...MASK, ...p.map((x, i) => x ^ MASK[i % 4])];
}

// A message over the server's limit: 1009. Tried several times, one byte over and 4 MiB over,
// because the close frame must reach the client every time, though the client is still sending
// the message when the server refuses it from the frame's header.
async function tooBig(url, perMessageDeflate, messages) {
  for (const [i, message] of messages.entries()) {
    const peer = await connect(url, {perMessageDeflate});
    peer.ws.send(message);
    const closed = await peer.closed();
    check(closed.code === 1009,
          `try ${i + 1}: a message of ${message.length} bytes (limit ${MAX_MESSAGE_BYTES}): ` +
              `closed with ${closed.code}, not 1009` +
              (closed.code === 1006 ? ' (no close frame reached the client)' : ''));
  }
}

const overByOne = bytes(MAX_MESSAGE_BYTES + 1, 3);
const overBy4MiB = bytes(MAX_MESSAGE_BYTES + (4 << 20), 4);

run('close_codes', [
  ['client closes with 1000', (url) => clientCloses(url, 1000, '')],
  ['client closes with 1001 and a reason', (url) => clientCloses(url, 1001, 'going away')],
  ['client closes with 3000', (url) => clientCloses(url, 3000, 'registered')],
  ['client closes with 4000 and a reason', (url) => clientCloses(url, 4000, 'bye € 😀')],
  ['client closes with 4999', (url) => clientCloses(url, 4999, 'x'.repeat(120))],
  ['an unmasked frame: 1002', (url) => rawFrameCloses(url, [0x81, 0x02, 0x68, 0x69], 1002,
                                                        'unmasked text "hi"')],
  ['reserved data opcode 0x3: 1002', (url) => rawFrameCloses(url, masked(0x83, 'r'), 1002,
                                                               'opcode 0x3')],
  ['reserved control opcode 0xB: 1002', (url) => rawFrameCloses(url, masked(0x8b, ''), 1002,
                                                                  'opcode 0xB')],
  ['RSV1 without permessage-deflate: 1002',
   (url) => rawFrameCloses(url, masked(0xc1, 'compressed?'), 1002, 'RSV1 set')],
  ['a continuation with no message begun: 1002',
   (url) => rawFrameCloses(url, masked(0x80, 'stray'), 1002, 'a stray continuation')],
  ['a fragmented ping: 1002', (url) => rawFrameCloses(url, masked(0x09, 'ping'), 1002,
                                                        'a ping without FIN')],
  ['invalid UTF-8 in a text message: 1007', async (url) => {
    const peer = await connect(url, {perMessageDeflate: false});
    peer.ws.send(Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe]), {binary: false});  // "ok \xff\xfe"
    const closed = await peer.closed();
    check(closed.code === 1007, `closed with ${closed.code}, not 1007`);
  }],
  ['a surrogate (ED A0 80) in a text message: 1007', async (url) => {
    const peer = await connect(url, {perMessageDeflate: false});
    peer.ws.send(Buffer.from([0xed, 0xa0, 0x80]), {binary: false});
    const closed = await peer.closed();
    check(closed.code === 1007, `closed with ${closed.code}, not 1007`);
  }],
  ['invalid UTF-8 in a compressed text message: 1007', async (url) => {
    const peer = await connect(url, {perMessageDeflate: true});
    const bad = Buffer.alloc(4096, 0x61);
    bad[4000] = 0xc0;  // an overlong encoding's lead byte
    peer.ws.send(bad, {binary: false});
    const closed = await peer.closed();
    check(closed.code === 1007, `closed with ${closed.code}, not 1007`);
  }],
  ['a message at the limit is echoed', async (url) => {
    const peer = await connect(url, {perMessageDeflate: false, maxPayload: 2 * MAX_MESSAGE_BYTES});
    const b = bytes(MAX_MESSAGE_BYTES, 9);
    peer.ws.send(b);
    checkEcho(await peer.message(), b, 'a message of exactly the limit');
    peer.ws.close(1000);
    await peer.closed();
  }],
  ['a message over the limit: 1009 (6 tries)',
   (url) => tooBig(url, false, [overByOne, overBy4MiB, overByOne, overBy4MiB, overByOne,
                                overBy4MiB])],
  ['a compressed message that inflates past the limit: 1009 (3 tries)',
   (url) => tooBig(url, true, [1, 2, 3].map(() => Buffer.alloc(MAX_MESSAGE_BYTES + 1)))],
]);
