// What the Node.js interop scripts share: the ws package, a connection whose events can be
// awaited in order, checks, and a runner that fails with a clear message (never hangs: every
// wait has a deadline).
'use strict';

let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  console.error('FAIL: the ws package is missing from test/interop/node_modules: run ' +
                'tools/snow setup (it runs npm ci in test/interop)');
  process.exit(1);
}

const WAIT_MS = 20000;  // for any one event
const MAX_MESSAGE_BYTES = 1 << 20;  // ws_echo's default, which the tests run it with

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

// A client connection; its messages, pongs and the close are queued as they arrive, so a test
// awaits them in order.
class Peer {
  constructor(ws) {
    this.ws = ws;
    this.events = [];
    this.waiter = null;
    ws.on('message', (data, isBinary) => this.push({kind: 'message', data, isBinary}));
    ws.on('pong', (data) => this.push({kind: 'pong', data}));
    ws.on('close', (code, reason) => this.push({kind: 'close', code, reason: reason.toString()}));
    ws.on('error', (error) => this.push({kind: 'error', error}));
  }

  push(event) {
    this.events.push(event);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }

  // The next event, whatever it is.
  async next(what) {
    if (this.events.length === 0) {
      let timer;
      await new Promise((resolve, reject) => {
        this.waiter = resolve;
        timer = setTimeout(() => reject(new Failure(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
      });
      clearTimeout(timer);
    }
    return this.events.shift();
  }

  // The next event, which must be of this kind ('error' events are skipped for 'close': ws
  // reports a protocol error it sees, then the close).
  async expect(kind) {
    for (;;) {
      const event = await this.next(`${kind} event`);
      if (event.kind === 'error' && kind === 'close') continue;
      check(event.kind === kind,
            `expected a ${kind}, got a ${event.kind}` +
                (event.kind === 'close' ? ` (code ${event.code}, reason "${event.reason}")` : '') +
                (event.kind === 'error' ? ` (${event.error.message})` : ''));
      return event;
    }
  }

  // The next message, as {data: Buffer, isBinary}.
  async message() {
    return this.expect('message');
  }

  // Ends with the close from the server; its {code, reason}.
  async closed() {
    const event = await this.expect('close');
    return event;
  }
}

// Connects; resolves to a Peer once open. `options` are ws's (perMessageDeflate, ...).
function connect(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Failure(`no connection to ${url} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    ws.once('upgrade', (response) => {
      ws.upgradeHeaders = response.headers;
    });
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(new Peer(ws));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(new Failure(`connecting to ${url}: ${error.message}`));
    });
  });
}

// Checks that a message is `expected` (a string: a text message; a Buffer: a binary one).
function checkEcho(got, expected, what) {
  if (typeof expected === 'string') {
    check(!got.isBinary, `${what}: came back as binary, sent as text`);
    const text = got.data.toString('utf8');
    check(text.length === expected.length,
          `${what}: came back with ${text.length} characters, sent ${expected.length}`);
    check(text === expected, `${what}: came back different`);
  } else {
    check(got.isBinary, `${what}: came back as text, sent as binary`);
    check(got.data.length === expected.length,
          `${what}: came back with ${got.data.length} bytes, sent ${expected.length}`);
    check(Buffer.compare(got.data, expected) === 0, `${what}: came back different`);
  }
}

// A deterministic pseudo-random buffer (so a failure repeats).
function bytes(n, seed = 1) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

// Text of exactly n UTF-8 bytes, with 2-, 3- and 4-byte characters among ASCII.
function text(n) {
  const pieces = ['snow ', 'é', '€', '😀', ' ws ', 'ß'];
  let out = '';
  let size = 0;
  for (let i = 0; size < n; ++i) {
    let piece = pieces[i % pieces.length];
    if (size + Buffer.byteLength(piece) > n) piece = 'x';
    out += piece;
    size += Buffer.byteLength(piece);
  }
  return out;
}

// Runs the named steps in order; prints each, fails at the first that throws.
async function run(name, steps) {
  const url = process.argv[2];
  if (!url) {
    console.error(`usage: node ${name}.js ws://HOST:PORT/echo`);
    process.exit(2);
  }
  for (const [label, step] of steps) {
    try {
      await step(url);
      console.log(`ok   ${name}: ${label}`);
    } catch (e) {
      console.log(`FAIL ${name}: ${label}: ${e instanceof Failure ? e.message : e.stack}`);
      process.exit(1);
    }
  }
  console.log(`${steps.length} passed, 0 failed`);
  process.exit(0);
}

module.exports = {WebSocket, MAX_MESSAGE_BYTES, check, connect, checkEcho, bytes, text, run};
