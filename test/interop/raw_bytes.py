#!/usr/bin/env python3
"""Byte-exact checks of ws_echo over raw TCP sockets (the Python 3 standard library only).

    raw_bytes.py ws://127.0.0.1:PORT/echo

Writes the handshake and every frame by hand, and parses what the server answers: the upgrade
and its refusals, the three length encodings (the server's frames unmasked, FIN set, lengths
minimal), pings, fragments, and the close code of each broken frame. Every socket has a
timeout, so a server that answers nothing fails the test instead of hanging it.
"""
import base64
import hashlib
import os
import socket
import struct
import sys

TIMEOUT = 10  # seconds, for any one read or write
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Connection:
    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        """Reads more; False at the end of the stream (or a reset, after the close)."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return False
        except socket.timeout:
            raise Failure(f"no answer within {TIMEOUT} s")
        self.buffer += chunk
        return bool(chunk)

    def exact(self, n):
        while len(self.buffer) < n:
            check(self.fill(), f"the connection ended; {n} bytes were expected, "
                               f"{len(self.buffer)} came: {self.buffer[:40]!r}")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def head(self):
        """The HTTP answer's head: (status line, {lowercase name: value})."""
        while b"\r\n\r\n" not in self.buffer:
            check(self.fill(), f"the connection ended before an HTTP head: {self.buffer!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return lines[0], headers

    def frame(self):
        """The server's next frame, checked for what every server frame must be."""
        b0, b1 = self.exact(2)
        fin, rsv, opcode = b0 >> 7, (b0 >> 4) & 0x7, b0 & 0xF
        check(b1 & 0x80 == 0, f"the server masked a frame (RFC 6455 5.1): {b0:02x} {b1:02x}")
        check(rsv == 0, f"the server set RSV bits {rsv:03b} without an extension")
        length = b1 & 0x7F
        encoding = 7
        if length == 126:
            (length,) = struct.unpack(">H", self.exact(2))
            encoding = 16
            check(length >= 126, f"a 16-bit length for {length} bytes: not minimal")
        elif length == 127:
            (length,) = struct.unpack(">Q", self.exact(8))
            encoding = 64
            check(length >= 65536, f"a 64-bit length for {length} bytes: not minimal")
            check(length >> 63 == 0, "a 64-bit length with its top bit set")
        return {"fin": fin, "opcode": opcode, "length": length, "encoding": encoding,
                "payload": self.exact(length)}

    def ended(self):
        """True if the server closes the connection (within the timeout) with nothing more."""
        while self.fill():
            pass
        return self.buffer == b""

    def close(self):
        self.sock.close()


def masked_frame(opcode, payload, fin=True, rsv=0, mask=None, length_bytes=None):
    """A client frame: masked unless mask is False; lengths minimal unless length_bytes is set."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    encoding = length_bytes or (1 if n < 126 else 2 if n < 65536 else 8)
    mask_bit = 0 if mask is False else 0x80
    if encoding == 1:
        head = bytes([first, mask_bit | n])
    elif encoding == 2:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", n)
    if mask is False:
        return head + payload
    key = mask or os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


def upgrade_request(key=RFC_KEY, version="13", extra=""):
    lines = ["GET /echo HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def opened(address):
    """A connection past a checked 101 answer (no extension offered)."""
    c = Connection(address)
    key = base64.b64encode(os.urandom(16)).decode()
    c.send(upgrade_request(key=key))
    status, headers = c.head()
    check(status.startswith("HTTP/1.1 101 "), f"the upgrade was answered {status!r}")
    check(headers.get("sec-websocket-accept") == accept_for(key),
          f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r} for key {key}")
    return c


def expect_close(c, code, what):
    """The server's next frame (skipping nothing) is a close with `code`; answer it; the
    connection then ends."""
    f = c.frame()
    check(f["opcode"] == CLOSE,
          f"{what}: expected a close frame, got opcode {f['opcode']:#x} {f['payload'][:40]!r}")
    check(f["fin"] == 1, f"{what}: a close frame without FIN")
    check(len(f["payload"]) >= 2, f"{what}: a close frame without a code")
    (got,) = struct.unpack(">H", f["payload"][:2])
    check(got == code, f"{what}: closed with {got}, not {code} ({f['payload'][2:]!r})")
    try:
        c.send(masked_frame(CLOSE, close_payload(code)))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close first after a protocol error (RFC 6455 7.1.7)
    check(c.ended(), f"{what}: the connection did not end after the close")
    c.close()


def expect_echo(c, opcode, payload, what, encoding=None):
    f = c.frame()
    check(f["opcode"] == opcode, f"{what}: opcode {f['opcode']:#x}, not {opcode:#x}")
    check(f["fin"] == 1, f"{what}: the echo is fragmented (FIN not set)")
    check(f["payload"] == payload,
          f"{what}: {f['length']} bytes came back for {len(payload)}, different")
    if encoding is not None:
        check(f["encoding"] == encoding,
              f"{what}: a {f['encoding']}-bit length, not {encoding}-bit")


# The cases, each on connections of its own.

def handshake(address):
    c = Connection(address)
    c.send(upgrade_request(key=RFC_KEY))
    status, headers = c.head()
    check(status == "HTTP/1.1 101 Switching Protocols", f"status line {status!r}")
    check(headers.get("upgrade", "").lower() == "websocket", f"Upgrade: {headers.get('upgrade')!r}")
    check("upgrade" in headers.get("connection", "").lower(),
          f"Connection: {headers.get('connection')!r}")
    check(headers.get("sec-websocket-accept") == RFC_ACCEPT,
          f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, not {RFC_ACCEPT}")
    check(accept_for(RFC_KEY) == RFC_ACCEPT, "this script's own accept computation is wrong")
    check("sec-websocket-extensions" not in headers, "an extension nobody offered")
    check(c.buffer == b"", f"bytes after the 101 answer: {c.buffer!r}")
    c.close()
    opened(address).close()  # a random key too


def refusal(address, request, status_code, what):
    c = Connection(address)
    c.send(request)
    status, headers = c.head()
    check(status.startswith(f"HTTP/1.1 {status_code} "), f"{what}: answered {status!r}")
    c.close()
    return headers


def refusals(address):
    headers = refusal(address, upgrade_request(version="8"), 426, "version 8")
    check(headers.get("sec-websocket-version") == "13",
          f"426 with Sec-WebSocket-Version {headers.get('sec-websocket-version')!r}, not 13")
    refusal(address, upgrade_request(key=None), 400, "no Sec-WebSocket-Key")
    refusal(address, upgrade_request(key="c2hvcnQ="), 400, "a key of 5 bytes")
    refusal(address, upgrade_request(version=None), 426, "no Sec-WebSocket-Version")
    refusal(address, b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400,
            "no Upgrade header")
    refusal(address, upgrade_request().replace(b"GET /echo HTTP/1.1", b"GET /echo HTTP/1.0"),
            400, "HTTP/1.0")


def lengths(address):
    c = opened(address)
    for n, encoding in [(0, 7), (1, 7), (125, 7), (126, 16), (127, 16), (65535, 16),
                        (65536, 64), (200000, 64)]:
        payload = os.urandom(n)
        c.send(masked_frame(BINARY, payload))
        expect_echo(c, BINARY, payload, f"binary of {n} bytes", encoding)
        text = ("é" * (n // 2) + "x" * (n % 2)).encode()
        c.send(masked_frame(TEXT, text))
        expect_echo(c, TEXT, text, f"text of {n} bytes", encoding)
    c.send(masked_frame(CLOSE, close_payload(1000)))
    expect_close(c, 1000, "a normal close")
    # The length in more bytes than it needs breaks a MUST of RFC 6455 5.2: the server says so.
    for n, length_bytes in [(5, 2), (5, 8), (300, 8)]:
        c = opened(address)
        c.send(masked_frame(TEXT, b"x" * n, length_bytes=length_bytes))
        expect_close(c, 1002, f"{n} bytes sent with a {length_bytes * 8}-bit length")


def unmasked(address):
    c = opened(address)
    c.send(masked_frame(TEXT, b"no mask", mask=False))
    expect_close(c, 1002, "an unmasked frame")


def ping(address):
    c = opened(address)
    for payload in [b"", b"ping payload \x00\xff", bytes(range(125))]:
        c.send(masked_frame(PING, payload))
        f = c.frame()
        check(f["opcode"] == PONG and f["fin"] == 1, f"the ping was answered by {f}")
        check(f["payload"] == payload, f"the pong carried {f['payload']!r}, not {payload!r}")
    c.send(masked_frame(PONG, b"unsolicited"))  # ignored, as the RFC says
    c.send(masked_frame(TEXT, b"after the pong"))
    expect_echo(c, TEXT, b"after the pong", "a text after an unsolicited pong")
    c.send(masked_frame(PING, b"x" * 126))  # a control frame's payload is at most 125 bytes
    expect_close(c, 1002, "a ping of 126 bytes")


def utf8_split(address):
    c = opened(address)  # U+1F600 is F0 9F 98 80: a valid start, then FF
    c.send(masked_frame(TEXT, b"\xf0\x9f", fin=False))
    c.send(masked_frame(CONTINUATION, b"\x98\xff"))
    expect_close(c, 1007, "invalid UTF-8 across two fragments")
    c = opened(address)
    c.send(masked_frame(TEXT, b"\xf0\x9f", fin=False))
    c.send(masked_frame(CONTINUATION, b"\x98\x80"))
    expect_echo(c, TEXT, "😀".encode(), "U+1F600 across two fragments")
    for bad, what in [(b"\xed\xa0\x80", "a surrogate"), (b"\xc0\xaf", "an overlong '/'"),
                      (b"\xf4\x90\x80\x80", "a code point past U+10FFFF"),
                      (b"ok\xe2\x82", "a text ending mid-character")]:
        c = opened(address)
        c.send(masked_frame(TEXT, bad))
        expect_close(c, 1007, what)
    c = opened(address)
    c.send(masked_frame(TEXT, b"\xf4\x8f\xbf\xbf"))  # U+10FFFF, the last code point
    expect_echo(c, TEXT, b"\xf4\x8f\xbf\xbf", "U+10FFFF")


def ping_between_fragments(address):
    c = opened(address)
    c.send(masked_frame(TEXT, b"frag", fin=False))
    c.send(masked_frame(PING, b"in between"))
    c.send(masked_frame(CONTINUATION, b"mented ", fin=False))
    c.send(masked_frame(CONTINUATION, b"text"))
    f = c.frame()
    check(f["opcode"] == PONG and f["payload"] == b"in between",
          f"the ping between fragments was answered by {f}")
    expect_echo(c, TEXT, b"fragmented text", "a text with a ping between its fragments")
    c.send(masked_frame(BINARY, b"", fin=False))  # empty fragments count too
    c.send(masked_frame(CONTINUATION, b"", fin=False))
    c.send(masked_frame(CONTINUATION, b"\x00\x01"))
    expect_echo(c, BINARY, b"\x00\x01", "a binary in three fragments, two empty")
    c.send(masked_frame(TEXT, b"begun", fin=False))  # a new message before the end of the first
    c.send(masked_frame(TEXT, b"again"))
    expect_close(c, 1002, "a text frame inside a fragmented message")


def bad_frames(address):
    cases = [
        (masked_frame(TEXT, b"rsv2", rsv=0b010), 1002, "RSV2 set"),
        (masked_frame(TEXT, b"rsv3", rsv=0b001), 1002, "RSV3 set"),
        (masked_frame(TEXT, b"rsv1", rsv=0b100), 1002, "RSV1 set without an extension"),
        (masked_frame(0x3, b"reserved"), 1002, "reserved opcode 0x3"),
        (masked_frame(0xB, b""), 1002, "reserved control opcode 0xB"),
        (masked_frame(CONTINUATION, b"stray"), 1002, "a continuation with nothing begun"),
        (masked_frame(PING, b"frag", fin=False), 1002, "a fragmented ping"),
        (masked_frame(CLOSE, b"\x03"), 1002, "a close payload of 1 byte"),
        (masked_frame(CLOSE, close_payload(1005)), 1002, "close code 1005 (never sent)"),
        (masked_frame(CLOSE, close_payload(999)), 1002, "close code 999"),
        (masked_frame(CLOSE, close_payload(2999)), 1002, "close code 2999"),
        (masked_frame(CLOSE, close_payload(1000, b"\xff")), 1007, "a close reason not UTF-8"),
    ]
    for data, code, what in cases:
        c = opened(address)
        c.send(data)
        expect_close(c, code, what)
    for code in [1000, 1001, 1003, 1007, 1011, 3000, 4999]:
        c = opened(address)
        c.send(masked_frame(CLOSE, close_payload(code, b"reason")))
        expect_close(c, code, f"a close with {code}")
    c = opened(address)
    c.send(masked_frame(CLOSE, b""))  # no code: the answer says 1000
    expect_close(c, 1000, "a close without a code")


CASES = [
    ("the handshake: 101 and the RFC's Sec-WebSocket-Accept", handshake),
    ("refusals: 426 with the version, 400 for a missing or bad key", refusals),
    ("7-, 16- and 64-bit lengths echoed with minimal lengths", lengths),
    ("an unmasked frame: 1002, then the connection ends", unmasked),
    ("a ping is answered by a pong with its payload", ping),
    ("invalid UTF-8 split across fragments: 1007", utf8_split),
    ("a ping between fragments: answered, the message whole", ping_between_fragments),
    ("RSV bits, reserved opcodes, bad close frames: 1002", bad_frames),
]


def main(argv):
    if len(argv) != 1 or not argv[0].startswith("ws://"):
        print("usage: raw_bytes.py ws://HOST:PORT/echo", file=sys.stderr)
        sys.exit(2)
    host, _, port = argv[0][len("ws://"):].split("/", 1)[0].rpartition(":")
    address = (host, int(port))
    for label, case in CASES:
        try:
            case(address)
        except (Failure, OSError) as e:
            print(f"FAIL raw_bytes: {label}: {e}", flush=True)
            sys.exit(1)
        print(f"ok   raw_bytes: {label}", flush=True)
    print(f"{len(CASES)} passed, 0 failed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
