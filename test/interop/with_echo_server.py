#!/usr/bin/env python3
"""Runs one interop client against a fresh WebSocket echo server (tools/examples/ws_echo.cc).

    with_echo_server.py SERVER [SERVER_ARGS...] -- CLIENT [CLIENT_ARGS...]

Starts SERVER --listen=127.0.0.1:0 SERVER_ARGS, waits for its first line (the address it
bound, ws://127.0.0.1:PORT/echo), runs CLIENT CLIENT_ARGS URL, then stops the server with
SIGTERM. Passes only if the client exits 0 and the server stops cleanly (exit 143, its answer to
SIGTERM: so a sanitizer's report at exit fails the test too). Every wait has a deadline.

A Node.js client needs test/interop/node_modules, which `tools/snow setup` (and `tools/snow
test`) install with npm ci: without it the test fails and says so, it is never skipped.
"""
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ADDRESS_TIMEOUT = 30  # seconds for the server to print its address
CLIENT_TIMEOUT = 300  # seconds for the client (a sanitizer build is slow)
STOP_TIMEOUT = 30  # seconds for the server to stop after SIGTERM
SETUP_HINT = "run tools/snow setup (it installs Node.js and runs npm ci in test/interop)"


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check_node_client(client):
    if os.path.basename(client[0]) != "node":
        return
    node = shutil.which("node")
    if node is None:
        fail(f"node is not installed: {SETUP_HINT}")
    if not os.path.isfile(os.path.join(HERE, "node_modules", "ws", "package.json")):
        fail(f"test/interop/node_modules has no ws package: {SETUP_HINT}")
    client[0] = node


def read_first_line(server):
    """The server's first stdout line, or fail after ADDRESS_TIMEOUT (no fixed sleep)."""
    deadline = time.monotonic() + ADDRESS_TIMEOUT
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(server.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                fail(f"the server printed no address within {ADDRESS_TIMEOUT} s")
            chunk = os.read(server.stdout.fileno(), 1)  # one byte: leave the rest in the pipe
            if not chunk:
                fail(f"the server ended before printing its address (exit {server.wait()})")
            line += chunk
    return line.decode().strip()


def stop(server):
    if server.poll() is not None:
        fail(f"the server ended on its own during the test (exit {server.returncode})")
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        fail(f"the server did not stop within {STOP_TIMEOUT} s of SIGTERM")
    if code != 128 + signal.SIGTERM:
        fail(f"the server stopped with exit {code}, not {128 + signal.SIGTERM} (a clean stop)")


def main(argv):
    if "--" not in argv:
        fail("usage: with_echo_server.py SERVER [SERVER_ARGS...] -- CLIENT [CLIENT_ARGS...]")
    split = argv.index("--")
    server_command, client = argv[:split], argv[split + 1:]
    if not server_command or not client:
        fail("usage: with_echo_server.py SERVER [SERVER_ARGS...] -- CLIENT [CLIENT_ARGS...]")
    check_node_client(client)
    server = subprocess.Popen(
        [server_command[0], "--listen=127.0.0.1:0"] + server_command[1:],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        url = read_first_line(server)
        if not url.startswith("ws://127.0.0.1:") or not url.endswith("/echo"):
            fail(f"the server's first line is not its address: {url!r}")
        print(f"server: {url}", flush=True)
        try:
            result = subprocess.run(client + [url], stdin=subprocess.DEVNULL,
                                    timeout=CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:
            fail(f"the client did not finish within {CLIENT_TIMEOUT} s")
        if result.returncode != 0:
            fail(f"the client exited with {result.returncode}")
        stop(server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    print("PASS", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
