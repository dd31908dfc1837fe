#!/usr/bin/env python3
"""Tests of docs/examples/python-gateway/gateway.py, driven over stdio as an MCP client would:
every attack of corpus/adversarial.jsonl that a tutorial's regex check lets through is refused
with the corpus's reason, the benign corpus is allowed with its LIMIT, the guard failing or
answering out of turn refuses, and the protocol's own errors are answered.

    PGSAFE=build/pgsafe python3 tests/examples/test_gateway.py
"""

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GATEWAY = os.path.join(ROOT, "docs", "examples", "python-gateway", "gateway.py")
PGSAFE = os.path.abspath(os.environ.get("PGSAFE", os.path.join(ROOT, "build", "pgsafe")))

# The check FastMCP-style tutorials teach: a SELECT, and none of the writing keywords.
FORBIDDEN = re.compile(r"\b(INSERT|UPDATE|DELETE|DROP|ALTER|CREATE|TRUNCATE|GRANT|REVOKE|COPY|EXECUTE|CALL|DO|SET|"
                       r"MERGE|VACUUM|LOCK|COMMENT|REINDEX)\b", re.IGNORECASE)


def regex_allows(sql):
    return sql.strip().upper().startswith("SELECT") and not FORBIDDEN.search(sql)


def corpus(name):
    with open(os.path.join(ROOT, "corpus", name), encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


class Client:
    """The gateway as a subprocess, spoken to in JSON-RPC lines; without database_url it
    answers with verdicts, with it it runs the SQL through psql."""

    def __init__(self, pgsafe=PGSAFE, database_url=None):
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        self.process = subprocess.Popen([sys.executable, GATEWAY, "--pgsafe", pgsafe],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                        env=env)
        self.next_id = 0

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def receive(self):
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        if not ready:
            raise AssertionError("the gateway did not answer within 60 s")
        return json.loads(self.process.stdout.readline())

    def call(self, method, params=None):
        self.next_id += 1
        self.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}))
        answer = self.receive()
        assert answer["id"] == self.next_id, answer
        return answer

    def query(self, sql):
        result = self.call("tools/call", {"name": "query", "arguments": {"sql": sql}})["result"]
        return result["isError"], result["content"][0]["text"]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()


class GatewayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = Client()
        init = cls.client.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                              "clientInfo": {"name": "test", "version": "1"}})
        assert init["result"]["serverInfo"]["name"] == "pgsafe-python-gateway", init
        cls.client.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_tools_list(self):
        tools = self.client.call("tools/list")["result"]["tools"]
        self.assertEqual([tool["name"] for tool in tools], ["query"])

    def test_attack_that_bypasses_the_regex_is_refused(self):
        attack = next(entry for entry in corpus("adversarial.jsonl") if entry["id"] == "adv-files_programs-007")
        self.assertTrue(regex_allows(attack["sql"]), "the regex should let this attack through")
        is_error, text = self.client.query(attack["sql"])
        self.assertTrue(is_error)
        self.assertTrue(text.startswith("rejected (function_denied): function \"pg_read_file\" is not allowed"), text)

    def test_benign_query_is_allowed(self):
        is_error, text = self.client.query("SELECT id, total FROM orders WHERE total > 100")
        self.assertFalse(is_error, text)
        self.assertEqual(text, "allowed (limit injected: 1001); would run:\n"
                               "SELECT id, total FROM orders WHERE total > 100 LIMIT 1001")

    def test_every_regex_bypass_of_the_corpus_is_refused(self):
        bypasses = [entry for entry in corpus("adversarial.jsonl")
                    if entry["expect"] == "reject" and regex_allows(entry["sql"])]
        self.assertGreater(len(bypasses), 1000)  # what the regex lets through
        for entry in bypasses:
            is_error, text = self.client.query(entry["sql"])
            self.assertTrue(is_error, (entry["id"], text))
            self.assertTrue(text.startswith(f"rejected ({entry['reason']})"), (entry["id"], text))

    def test_the_benign_corpus_is_allowed(self):
        for entry in corpus("benign.jsonl"):
            is_error, text = self.client.query(entry["sql"])
            self.assertFalse(is_error, (entry["id"], text))
            self.assertIn(f"{entry['applied_limit']}); would run:", text)

    def test_bad_arguments_are_refused(self):
        for arguments in ({}, {"sql": 5}, {"sql": None}, {"sql": ["SELECT 1"]}):
            result = self.client.call("tools/call", {"name": "query", "arguments": arguments})["result"]
            self.assertTrue(result["isError"], (arguments, result))

    def test_protocol_errors(self):
        self.assertEqual(self.client.call("no/such/method")["error"]["code"], -32601)
        self.assertEqual(self.client.call("tools/call", {"name": "drop_table"})["error"]["code"], -32602)
        self.client.send("{not json")
        self.assertEqual(self.client.receive()["error"]["code"], -32700)
        self.assertEqual(self.client.call("ping")["result"], {})


class FailClosedTest(unittest.TestCase):
    def fake_guard(self, script):
        """A stand-in for pgsafe whose check --jsonl runs script (shell)."""
        path = os.path.join(self.directory, "pgsafe")
        with open(path, "w") as file:
            file.write("#!/bin/sh\n" + script + "\n")
        os.chmod(path, 0o755)
        return path

    def setUp(self):
        self.directory = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.directory)

    def ask(self, fake, sql="SELECT 1"):
        client = Client(fake)
        try:
            return client.query(sql)
        finally:
            client.close()

    def test_a_guard_that_dies_refuses(self):
        is_error, text = self.ask(self.fake_guard("exit 0"))
        self.assertTrue(is_error)
        self.assertIn("the SQL guard is unavailable", text)

    def test_a_guard_that_answers_another_id_refuses(self):
        fake = self.fake_guard("read line; echo '{\"id\": 999, \"allowed\": true, \"rewritten_sql\": \"DROP TABLE t\"}'")
        is_error, text = self.ask(fake)
        self.assertTrue(is_error)
        self.assertIn("answered another request", text)

    def test_a_guard_that_is_missing_refuses(self):
        is_error, text = self.ask(os.path.join(self.directory, "missing"))
        self.assertTrue(is_error)


@unittest.skipUnless(shutil.which("psql") and shutil.which("createdb"), "psql is not installed")
class PsqlTest(unittest.TestCase):
    """With DATABASE_URL, against a throwaway PostgreSQL (scripts/pg-throwaway)."""

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp()
        os.chmod(cls.directory, 0o755)  # the cluster runs as the postgres user when we are root
        cls.cluster = os.path.join(cls.directory, "pg")
        started = subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway"), "start", cls.cluster],
                                 capture_output=True, text=True)
        if started.returncode != 0:
            shutil.rmtree(cls.directory)
            raise unittest.SkipTest(f"no throwaway PostgreSQL: {started.stderr.strip()}")
        settings = dict(line.split("=", 1) for line in started.stdout.split())
        environment = dict(os.environ, PGHOST=settings["PGHOST"], PGPORT=settings["PGPORT"], PGUSER="postgres")
        subprocess.run(["createdb", "shop"], env=environment, check=True)
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "shop", "-c",
                        "CREATE TABLE orders (id int PRIMARY KEY, total numeric);"
                        "INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 5) g;"],
                       env=environment, check=True)
        cls.url = f"postgresql://postgres@/shop?host={settings['PGHOST']}&port={settings['PGPORT']}"

    @classmethod
    def tearDownClass(cls):
        subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway"), "destroy", cls.cluster], capture_output=True)
        shutil.rmtree(cls.directory, ignore_errors=True)

    def test_runs_the_rewritten_sql_read_only(self):
        client = Client(database_url=self.url)
        try:
            is_error, text = client.query("SELECT id, total FROM orders WHERE total > 20 ORDER BY id")
            self.assertFalse(is_error, text)
            self.assertEqual(text, "id,total\n3,30\n4,40\n5,50\n")
            is_error, text = client.query("SELECT * INTO stolen FROM orders")
            self.assertTrue(is_error)
            self.assertTrue(text.startswith("rejected (select_into)"), text)
            is_error, text = client.query("SELECT count(*) FROM orders")
            self.assertEqual(text, "count\n5\n")
            # An error of the database is the tool's error, not the gateway's end.
            is_error, text = client.query("SELECT no_such_column FROM orders")
            self.assertTrue(is_error)
            self.assertIn("no_such_column", text)
        finally:
            client.close()

    def test_the_session_is_read_only_too(self):
        # A write that got past the guard would fail in the database.
        sys.dont_write_bytecode = True  # nothing left in docs/examples
        sys.path.insert(0, os.path.dirname(GATEWAY))
        try:
            import gateway
        finally:
            sys.path.pop(0)
        ok, text = gateway.run_sql("INSERT INTO orders VALUES (9, 90)", self.url)
        self.assertFalse(ok)
        self.assertIn("read-only transaction", text)


if __name__ == "__main__":
    unittest.main(verbosity=1)
