#!/usr/bin/env python3
"""A minimal MCP server in Python (standard library only) whose `query` tool validates SQL with
`pgsafe check --jsonl` instead of a regular expression.

Tutorials for FastMCP-style servers guard their `query` tool like this:

    if not sql.strip().upper().startswith("SELECT") or FORBIDDEN.search(sql):
        raise ValueError("only SELECT is allowed")

which lets through `SELECT pg_read_file('/etc/passwd')`, `SELECT * INTO stolen FROM users`,
`SELECT nextval('orders_id_seq')`, `SELECT pg_sleep(3600)`, `SELECT * FROM pg_authid` and a
thousand more (corpus/adversarial.jsonl). Here the check is PostgreSQL's own parser and
pgsafe's allow-list, in one long-running `pgsafe check --jsonl` process: one JSON request a
line in, one verdict a line out. Every failure of the guard (it died, it answered out of turn,
it said anything but "allowed") refuses the query: the gateway fails closed.

Running the SQL: with DATABASE_URL set, an allowed query's rewritten SQL (bounded by a LIMIT)
runs through `psql --csv` in a read-only session with a statement timeout; without it, the
tool answers with the verdict and the SQL it would run, so the gateway can be tried (and is
tested) without a database. Connect as a read-only role all the same (`pgsafe setup-sql`):
the guard is one layer, the role another.

    python3 gateway.py [--pgsafe PATH] [--max-rows N] [--catalog FILE]

Configure it in an MCP client as a stdio server: {"command": "python3", "args": ["gateway.py"]}.
"""

import argparse
import json
import os
import subprocess
import sys
import threading

PROTOCOL_VERSION = "2025-06-18"


class GuardError(Exception):
    """The guard could not give a verdict; the query must be refused."""


class Guard:
    """One `pgsafe check --jsonl` process, asked one query at a time (thread-safe)."""

    def __init__(self, pgsafe="pgsafe", options=()):
        self.command = [pgsafe, "check", "--jsonl", *options]
        self.lock = threading.Lock()
        self.next_id = 0
        self.process = None

    def _start(self):
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        encoding="utf-8", errors="strict", bufsize=1)

    def check(self, sql, max_rows=None):
        """The verdict for sql: a dict with "allowed" and "reason", then either "rewritten_sql",
        "applied_limit" and "limit_action", or "message" and maybe "detail", "hint", "position".
        Raises GuardError when there is none."""
        if not isinstance(sql, str):
            raise GuardError("the query must be a string")
        request = {"id": 0, "sql": sql}
        if max_rows is not None:
            request["max_rows"] = max_rows
        with self.lock:
            # A guard that died is started again once; a second failure is reported.
            for attempt in range(2):
                self.next_id += 1
                request["id"] = self.next_id
                try:
                    if self.process is None or self.process.poll() is not None:
                        self._start()
                    self.process.stdin.write(json.dumps(request) + "\n")
                    self.process.stdin.flush()
                    line = self.process.stdout.readline()
                except (OSError, ValueError) as error:
                    line, failure = "", error
                else:
                    failure = "it closed its output"
                if line:
                    break
                if self.process is not None:
                    self.process.kill()
                    self.process.wait()
                    self.process = None
            else:
                raise GuardError(f"pgsafe check --jsonl gave no verdict: {failure}")
        try:
            verdict = json.loads(line)
        except ValueError:
            raise GuardError("pgsafe check --jsonl answered something that is not JSON")
        # One answer per request, in order: any other id means the two are out of step.
        if not isinstance(verdict, dict) or verdict.get("id") != request["id"]:
            raise GuardError("pgsafe check --jsonl answered another request")
        return verdict

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait()


def run_sql(sql, database_url):
    """Runs sql (already rewritten by the guard) with psql in a read-only session; returns
    (ok, text)."""
    environment = dict(os.environ, PGOPTIONS="-c default_transaction_read_only=on -c statement_timeout=30000")
    result = subprocess.run(["psql", "--no-psqlrc", "--csv", "-v", "ON_ERROR_STOP=1", "-d", database_url, "-c", sql],
                            capture_output=True, text=True, env=environment, timeout=60)
    if result.returncode != 0:
        return False, result.stderr.strip()
    return True, result.stdout


def query_tool(guard, arguments, database_url):
    """The `query` tool: (is_error, text)."""
    sql = arguments.get("sql") if isinstance(arguments, dict) else None
    try:
        verdict = guard.check(sql)
    except GuardError as error:
        return True, f"refused: the SQL guard is unavailable ({error})"
    if verdict.get("allowed") is not True:
        lines = [f"rejected ({verdict.get('reason')}): {verdict.get('message')}"]
        lines += [f"{field}: {verdict[field]}" for field in ("detail", "hint", "position") if field in verdict]
        return True, "\n".join(lines)
    sql = verdict["rewritten_sql"]
    if not database_url:
        return False, f"allowed (limit {verdict['limit_action']}: {verdict['applied_limit']}); would run:\n{sql}"
    ok, text = run_sql(sql, database_url)
    return not ok, text


TOOLS = [{
    "name": "query",
    "description": "Run one read-only SELECT. It is checked by pgsafe (PostgreSQL's parser and an allow-list) "
                   "and gets a LIMIT; anything else is refused with the reason.",
    "inputSchema": {"type": "object", "properties": {"sql": {"type": "string", "description": "one SELECT"}},
                    "required": ["sql"]},
}]


def handle(message, guard, database_url):
    """The answer to one JSON-RPC message, or None for a notification."""
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
    if "id" not in message:
        return None  # notifications/initialized and the like
    method, params, reply = message["method"], message.get("params") or {}, {"jsonrpc": "2.0", "id": message["id"]}
    if method == "initialize":
        reply["result"] = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {"tools": {"listChanged": False}},
                           "serverInfo": {"name": "pgsafe-python-gateway", "version": "1.0.0"}}
    elif method == "ping":
        reply["result"] = {}
    elif method == "tools/list":
        reply["result"] = {"tools": TOOLS}
    elif method == "tools/call" and isinstance(params, dict) and params.get("name") == "query":
        is_error, text = query_tool(guard, params.get("arguments"), database_url)
        reply["result"] = {"content": [{"type": "text", "text": text}], "isError": is_error}
    elif method == "tools/call":
        reply["error"] = {"code": -32602, "message": f"unknown tool: {params.get('name') if isinstance(params, dict) else None}"}
    else:
        reply["error"] = {"code": -32601, "message": f"method not found: {method}"}
    return reply


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pgsafe", default=os.environ.get("PGSAFE", "pgsafe"), help="the pgsafe binary")
    parser.add_argument("--max-rows", type=int, help="rows a result may show (pgsafe's default: 1000)")
    parser.add_argument("--catalog", help="a snapshot from `pgsafe catalog export`, so user functions are known")
    arguments = parser.parse_args()
    options = []
    if arguments.max_rows is not None:
        options += ["--max-rows", str(arguments.max_rows)]
    if arguments.catalog:
        options += ["--catalog", arguments.catalog]
    guard = Guard(arguments.pgsafe, options)
    database_url = os.environ.get("DATABASE_URL", "")
    # stdout carries the protocol only: one JSON-RPC message a line.
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        else:
            reply = handle(message, guard, database_url)
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    guard.close()


if __name__ == "__main__":
    main()
