#!/usr/bin/env python3
"""A minimal MCP client over stdio, standard library only, for the package tests.

    mcp_stdio.py SQL -- COMMAND [ARGS...]

Starts COMMAND (with this process's environment), sends initialize, the initialized
notification and one tools/call of the query tool with SQL, and prints the call's
structured result as one JSON line. Exit status: 0 when the call succeeded, 1 when the tool
reported an error (its text goes to stderr), 2 when the server broke the protocol, exited
or did not answer within 30 seconds."""

import json
import subprocess
import sys
import threading

TIMEOUT_SECONDS = 30


def fail(message: str, status: int = 2) -> None:
    print(f"mcp_stdio: {message}", file=sys.stderr)
    sys.exit(status)


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        fail("usage: mcp_stdio.py SQL -- COMMAND [ARGS...]")
    sql, command = sys.argv[1], sys.argv[3:]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # A server that hangs must not hang the test: kill it after the timeout.
    timer = threading.Timer(TIMEOUT_SECONDS, server.kill)
    timer.start()
    try:
        def send(message: dict) -> None:
            server.stdin.write(json.dumps(message) + "\n")
            server.stdin.flush()

        def answer(request_id: int) -> dict:
            for line in server.stdout:
                message = json.loads(line)
                if message.get("id") == request_id:
                    return message
            fail(f"the server closed its output before answering request {request_id}")

        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "mcp_stdio.py", "version": "1"}}})
        initialized = answer(1)
        if "result" not in initialized:
            fail(f"initialize failed: {json.dumps(initialized)}")
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "query", "arguments": {"sql": sql}}})
        called = answer(2)
        if "result" not in called:
            fail(f"tools/call failed: {json.dumps(called)}")
        result = called["result"]
        if result.get("isError"):
            text = " ".join(item.get("text", "") for item in result.get("content", []))
            print(f"mcp_stdio: the tool reported an error: {text}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(result.get("structuredContent", result)))
    finally:
        timer.cancel()
        try:
            server.stdin.close()
        except BrokenPipeError:
            pass
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
