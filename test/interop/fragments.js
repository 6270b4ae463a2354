// Node.js's ws against ws_echo: a message the client sends in fragments (ws's send(data,
// {fin: false}) ... send(data, {fin: true})) comes back whole, with its type; a ping between
// fragments is answered; with and without permessage-deflate.
//
//   node fragments.js ws://127.0.0.1:PORT/echo
'use strict';

const {check, connect, checkEcho, bytes, text, run} = require('./common');

// Sends `pieces` (Buffers) as the fragments of one message.
function sendFragments(ws, pieces, binary, compress) {
  pieces.forEach((piece, i) => ws.send(piece, {binary, compress, fin: i === pieces.length - 1}));
}

async function fragments(url, perMessageDeflate) {
  const peer = await connect(url, {perMessageDeflate});
  const compress = perMessageDeflate;

  // Text in three fragments (ws compresses a message when its first fragment is 1 KiB or more).
  const t = text(3000);
  const tb = Buffer.from(t);
  sendFragments(peer.ws, [tb.subarray(0, 1500), tb.subarray(1500, 2000), tb.subarray(2000)],
                false, compress);
  checkEcho(await peer.message(), t, 'text in 3 fragments');

  // A character split between fragments: "€" is E2 82 AC.
  sendFragments(peer.ws, [Buffer.from('price: \xe2\x82', 'latin1'), Buffer.from([0xac])], false,
                compress);
  checkEcho(await peer.message(), 'price: €', 'text with "€" split between 2 fragments');

  // Binary in 5 fragments of 16-bit and 64-bit lengths, one of them empty.
  const b = bytes(70000 + 70000 + 300 + 0 + 1, 11);
  sendFragments(peer.ws,
                [b.subarray(0, 70000), b.subarray(70000, 140000), b.subarray(140000, 140300),
                 b.subarray(140300, 140300), b.subarray(140300)],
                true, compress);
  checkEcho(await peer.message(), b, 'binary in 5 fragments');

  // Many one-byte fragments.
  const many = bytes(200, 5);
  sendFragments(peer.ws, [...many].map((x) => Buffer.from([x])), true, compress);
  checkEcho(await peer.message(), many, 'binary in 200 one-byte fragments');

  // A ping between fragments: its pong comes first, then the whole message.
  peer.ws.send(Buffer.from('before ping, '), {binary: false, compress, fin: false});
  peer.ws.ping(Buffer.from('are you there?'));
  peer.ws.send(Buffer.from('after ping'), {binary: false, compress, fin: true});
  const pong = await peer.expect('pong');
  check(pong.data.toString() === 'are you there?',
        `the pong carried "${pong.data.toString()}", not the ping's payload`);
  checkEcho(await peer.message(), 'before ping, after ping', 'text with a ping between fragments');

  // Fragmented messages back to back, and whole ones between them.
  const sent = [];
  for (let i = 0; i < 20; ++i) {
    const m = `message ${i} `.repeat(i * 10 + 1);
    const mb = Buffer.from(m);
    if (i % 2) {
      const cut = Math.floor(mb.length / 2);
      sendFragments(peer.ws, [mb.subarray(0, cut), mb.subarray(cut)], false, compress);
    } else {
      peer.ws.send(m, {compress});
    }
    sent.push(m);
  }
  for (let i = 0; i < sent.length; ++i) checkEcho(await peer.message(), sent[i], `message ${i}`);

  peer.ws.close(1000);
  const closed = await peer.closed();
  check(closed.code === 1000, `closed with ${closed.code}, not 1000`);
}

run('fragments', [
  ['no extension', (url) => fragments(url, false)],
  ['permessage-deflate', (url) => fragments(url, true)],
]);
