#!/usr/bin/env python3
"""The documentation's checks, run by tests/docs/run from the repository root with a throwaway
PostgreSQL in PG* and the binary under test as `pgsafe` on PATH.

1. Every fenced block whose info string is `console` in README.md and docs/*.md is run:
   a line `$ COMMAND` is run by bash from the repository root (the commands of one block in
   one shell session, in order; a command ending in `\\` continues on the next line, which
   may start with `> ` as a terminal shows it); the lines after it, up to the next `$ ` line
   or the block's end, are its expected output (stdout and stderr interleaved), compared
   after stripping trailing spaces and trailing empty lines; a line `...` matches any number
   of lines; a last line `[exit N]` expects exit status N, otherwise 0.
2. docs/configuration.md: the summary table lists exactly the flags of `pgsafe serve --help`,
   with the same environment variables and defaults, and every variable is really read.
3. docs/reason-codes.md: every reason code in the guard's name table (src/guard/guard.c) has
   a section with an executed `pgsafe check` example producing that very code and a fix.
4. docs/clients.md: each JSON snippet parses, starts `pgsafe serve` with flags it accepts,
   keeps the connection in `env` and no password in `args`; `claude mcp add` uses `-e`; `npx`
   runs the npm package from its tarball, not by name.
5. docs/architecture.md: every code name it gives is in the source, and the names a table
   row gives are in the files that row names.

Prints `FAIL where` with a diff or a reason for each failure, ends with
`docs: N passed, N failed`, exits 1 on any failure."""
import difflib
import glob
import json
import os
import re
import select
import shlex
import subprocess
import sys
import time

ROOT = os.getcwd()
TMP = os.environ.get("PGSAFE_DOCS_TMP", "/tmp")
FILTER = os.environ.get("PGSAFE_DOCS_FILTER", "")
passed = 0
failed = 0


def ok():
    global passed
    passed += 1


def fail(where, message, details=()):
    global failed
    failed += 1
    print(f"FAIL {where}: {message}")
    for line in details:
        print(f"    {line}")


def check(condition, where, message, details=()):
    if condition:
        ok()
    else:
        fail(where, message, details)
    return condition


# --- Markdown ----------------------------------------------------------------------------

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")


def fenced_blocks(path):
    """Yields (info, line of the first content line, content lines) for each fenced block;
    the content loses the fence's indentation (blocks inside list items)."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = len(match.group(1)), match.group(2), match.group(3)
        content = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            line = lines[j]
            content.append(line[indent:] if line[:indent].strip() == "" else line)
            j += 1
        yield info, i + 2, content
        i = j + 1


def sections(path, level="## "):
    """{heading text: section text} for the headings of one level."""
    result, name, body = {}, None, []
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().split("\n"):
            if line.startswith(level):
                if name is not None:
                    result[name] = "\n".join(body)
                name, body = line[len(level):].strip(), []
            elif name is not None:
                body.append(line)
    if name is not None:
        result[name] = "\n".join(body)
    return result


# --- console blocks ----------------------------------------------------------------------


def parse_console(start, content):
    """[(line, command, expected lines, expected status)] or raises ValueError."""
    commands = []
    for offset, line in enumerate(content):
        if line.startswith("$ "):
            commands.append([start + offset, line[2:], []])
        elif commands and commands[-1][1].endswith("\\") and not commands[-1][2]:
            commands[-1][1] += "\n" + (line[2:] if line.startswith("> ") else line)
        elif not commands:
            if line.strip():
                raise ValueError(f"line {start + offset} comes before any `$ ` command")
        else:
            commands[-1][2].append(line)
    result = []
    for line, command, expected in commands:
        expected = trim([text.rstrip() for text in expected])
        status = 0
        if expected and re.fullmatch(r"\[exit \d+\]", expected[-1]):
            status = int(expected[-1][6:-1])
            expected = trim(expected[:-1])
        result.append((line, command, expected, status))
    return result


def trim(lines):
    while lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


def matches(expected, actual):
    """Exact line match where a line `...` stands for any number of lines."""
    memo = {}

    def at(i, j):
        key = (i, j)
        if key not in memo:
            if i == len(expected):
                memo[key] = j == len(actual)
            elif expected[i] == "...":
                memo[key] = at(i + 1, j) or (j < len(actual) and at(i, j + 1))
            else:
                memo[key] = j < len(actual) and expected[i] == actual[j] and at(i + 1, j + 1)
        return memo[key]

    return at(0, 0)


def run_console_block(path, start, content, number):
    where = f"{path}:{start - 1}"
    try:
        commands = parse_console(start, content)
    except ValueError as error:
        fail(where, f"malformed console block: {error}")
        return
    if not commands:
        fail(where, "a console block without a `$ ` command")
        return
    work = os.path.join(TMP, f"console-{number}")
    os.makedirs(work, exist_ok=True)
    script = []
    for index, (_, command, _, _) in enumerate(commands):
        # A group, not a subshell, so `export` and `cd` carry over to the block's next command.
        script.append(f'{{\n{command}\n}} </dev/null >"{work}/out.{index}" 2>&1\necho $? >"{work}/rc.{index}"')
    with open(os.path.join(work, "block.sh"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(script) + "\n")
    try:
        subprocess.run(["bash", "--noprofile", "--norc", os.path.join(work, "block.sh")], cwd=ROOT,
                       stdin=subprocess.DEVNULL, timeout=300)
    except subprocess.TimeoutExpired:
        fail(where, "the block did not finish within 300 s")
        return
    for index, (line, command, expected, status) in enumerate(commands):
        try:
            with open(f"{work}/out.{index}", "rb") as handle:
                actual = trim([text.rstrip() for text in handle.read().decode("utf-8", "replace").split("\n")])
            with open(f"{work}/rc.{index}", encoding="utf-8") as handle:
                actual_status = int(handle.read().strip())
        except (OSError, ValueError):
            fail(f"{path}:{line}", f"`{command}` did not run (an earlier command ended the shell?)")
            continue
        if matches(expected, actual) and actual_status == status:
            ok()
            continue
        details = [f"$ {command}"]
        if actual_status != status:
            details.append(f"exit status {actual_status}, expected {status}")
        details += list(difflib.unified_diff(expected, actual, "expected", "actual", lineterm=""))
        fail(f"{path}:{line}", "output differs", details)


def console_examples():
    files = ["README.md"] + sorted(glob.glob("docs/*.md"))
    number = 0
    for path in files:
        if FILTER and FILTER not in path:
            continue
        count_before = passed + failed
        for info, start, content in fenced_blocks(path):
            if info == "console":
                number += 1
                run_console_block(path, start, content, number)
        print(f"docs: {path}: {passed + failed - count_before} commands")


# --- pgsafe serve --help and configuration.md ----------------------------------------------


def run(arguments, env_extra=None, input_text=None, timeout=30):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(arguments, env=env, input=input_text if input_text is not None else "",
                          capture_output=True, text=True, timeout=timeout)


def serve_help():
    """[{flag, variable, kind, default}] from `pgsafe serve --help`; kind is the value's
    placeholder (N, NAME, or a text's: TEXT, DSN, FILE, ...) or "" for a switch; default is
    the help's own, normalised."""
    result = run(["pgsafe", "serve", "--help"])
    if not check(result.returncode == 0, "pgsafe serve --help", f"exit status {result.returncode}"):
        return []
    lines = result.stdout.split("\n")
    options = []
    for index, line in enumerate(lines):
        match = re.fullmatch(r"  (--[a-z-]+)(?: ([A-Z]+(?:=[A-Z]+)?))?  \[(PGSAFE_[A-Z_]+)\]", line)
        if not match:
            # Every serve flag has its variable, so that a client's env block can set it.
            check(not line.startswith("  --"), "pgsafe serve --help", f"an option without a [PGSAFE_*] variable: {line.strip()}")
            continue
        description = lines[index + 1].strip() if index + 1 < len(lines) else ""
        kind = match.group(2) or ""
        parenthesised = re.findall(r"\(([^()]*)\)", description)
        if kind == "":
            default = "off"
        elif kind == "NAME":
            default = "none"  # lists start empty; their parentheses are examples
        elif kind == "N":
            numbers = [text for text in parenthesised if re.fullmatch(r"\d+", text)]
            default = numbers[-1] if numbers else None
        else:
            default = re.sub(r"^(default: |else )", "", parenthesised[-1]) if parenthesised else "none"
        options.append({"flag": match.group(1), "variable": match.group(3), "kind": kind, "default": default})
    check(len(options) > 0, "pgsafe serve --help", "no options found in the help text")
    check("  -h, --help" in lines, "pgsafe serve --help", "the help does not list -h, --help")
    return options


def plain(text):
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


def configuration_table(path):
    """{flag: (variable, default)} from the summary table of configuration.md."""
    table = {}
    summary = sections(path).get("Summary", "")
    for line in summary.split("\n"):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`--"):
            flag = cells[0].strip("`").split(" ")[0]
            table[flag] = (cells[1].strip("`"), plain(cells[2]))
    return table


# Values a TEXT option refuses (exit 2, naming the variable), or for --dsn a connection
# string whose unknown parameter libpq names in the warning while pgsafe keeps serving.
TEXT_PROBES = {
    "--log-level": ("loud", 2, None),
    "--schemas": (",", 2, None),
    "--audit-log": ("", 2, None),
    "--tables": ("public..x", 2, None),
    "--deny-columns": ("!users.email", 2, None),
    "--dsn": ("postgresql:///pgsafe_it?pgsafe_docs_probe=1", 0, "pgsafe_docs_probe"),
    "--database": ("no-equals-sign", 2, "NAME=DSN"),
    "--database-config": ("/nonexistent/pgsafe-databases.json", 2, "cannot open"),
    "--http": ("nowhere", 2, None),
    "--tokens": ("", 2, None),
    "--oauth-issuer": ("", 2, None),
    "--oauth-jwks": ("", 2, None),
    "--oauth-audience": ("", 2, None),
    "--http-origin": ("http://localhost:6274", 2, "need --http"),
}

# For each list option: a value, a query to give check_sql, the reason with the value set,
# and the reason without it (the control, so the probe can fail).
LIST_PROBES = {
    "--allow-function": ("pg_stat_clear_snapshot", "SELECT pg_stat_clear_snapshot()", "ok", "function_volatile"),
    "--deny-function": ("lower", "SELECT lower('A')", "function_denied", "ok"),
    "--allow-relation": ("pg_settings", "SELECT name FROM pg_settings", "ok", "relation_denied"),
    "--deny-relation": ("customers", "SELECT * FROM customers", "relation_denied", "ok"),
}


def check_sql_reason(env_extra, sql):
    """The reason check_sql gives for sql in a `pgsafe serve` session with env_extra set;
    a text starting with "error:" when the session failed."""
    env = dict(os.environ)
    env.update(env_extra)
    process = subprocess.Popen(["pgsafe", "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "docs", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "check_sql", "arguments": {"sql": sql}}},
    ]
    answer = "error: no answer to check_sql within 30 s"
    try:
        for message in messages:
            process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()
        deadline, pending = time.monotonic() + 30, b""
        while time.monotonic() < deadline:
            # Raw reads: a buffered readline would hide lines from select().
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(process.stdout.fileno(), 65536)
            if chunk == b"":
                answer = "error: pgsafe serve closed stdout"
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            replies = [json.loads(line) for line in lines if line.strip()]
            mine = [reply for reply in replies if reply.get("id") == 2]
            if mine:
                content = mine[0].get("result", {}).get("structuredContent", {})
                answer = content.get("reason", f"error: no reason in {mine[0]}")
                break
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
    return answer


def variable_is_read(option):
    flag, variable, kind = option["flag"], option["variable"], option["kind"]
    where = f"{variable} ({flag})"
    if kind in ("N", ""):
        value = "not-a-number" if kind == "N" else "maybe"
        result = run(["pgsafe", "serve"], {variable: value})
        check(result.returncode == 2 and variable in result.stderr, where,
              f"{variable}={value} should make pgsafe serve exit 2 naming {variable}",
              [f"exit {result.returncode}", *result.stderr.strip().split("\n")])
    elif kind not in ("N", "NAME"):  # a text, whatever the help calls its value
        if not check(flag in TEXT_PROBES, where, "no probe for this option: add one to TEXT_PROBES in tests/docs/check_docs.py"):
            return
        value, status, needle = TEXT_PROBES[flag]
        result = run(["pgsafe", "serve"], {variable: value})
        needle = needle or variable
        check(result.returncode == status and needle in result.stderr, where,
              f"{variable}={value!r} should make pgsafe serve exit {status} with {needle} on stderr",
              [f"exit {result.returncode}", *result.stderr.strip().split("\n")])
    elif kind == "NAME":
        if not check(flag in LIST_PROBES, where, "no probe for this option: add one to LIST_PROBES in tests/docs/check_docs.py"):
            return
        value, sql, with_value, without = LIST_PROBES[flag]
        control = check_sql_reason({}, sql)
        check(control == without, f"{flag} control", f"check_sql {sql!r} gave {control}, expected {without}")
        for name in (variable, variable + "S"):  # the lists also answer to the plural
            reason = check_sql_reason({name: value}, sql)
            check(reason == with_value, f"{name} ({flag})",
                  f"with {name}={value}, check_sql {sql!r} gave {reason}, expected {with_value}")
    else:
        fail(where, f"unknown value kind {kind!r} in the help text")


def configuration():
    path = "docs/configuration.md"
    options = serve_help()
    table = configuration_table(path)
    help_flags = {option["flag"] for option in options} | {"--help"}
    for flag in sorted(help_flags - set(table)):
        fail(path, f"{flag} is in pgsafe serve --help but not in the summary table")
    for flag in sorted(set(table) - help_flags):
        fail(path, f"{flag} is in the summary table but not in pgsafe serve --help")
    synopsis = next((content for info, _, content in fenced_blocks(path)), [])
    for option in options:
        flag = option["flag"]
        check(flag in " ".join(synopsis), path, f"{flag} is missing from the usage synopsis at the top")
        if flag not in table:
            continue
        variable, default = table[flag]
        check(variable == option["variable"], path,
              f"{flag}: the table says {variable}, the help {option['variable']}")
        help_default = plain(option["default"] or "")
        check(option["default"] is not None and default.startswith(help_default), path,
              f"{flag}: the table's default {default!r} does not start with the help's {help_default!r}")
        variable_is_read(option)
    # Every PGSAFE_ name the docs mention is one pgsafe reads (a misspelt one is silently ignored).
    known = {option["variable"] for option in options}
    known |= {option["variable"] + "S" for option in options if option["kind"] in ("NAME", "NAME=DSN")}
    for doc in ["README.md"] + sorted(glob.glob("docs/*.md")):
        with open(doc, encoding="utf-8") as handle:
            text = handle.read()
        # -DPGSAFE_... is a CMake option, not an environment variable.
        for name in sorted(set(re.findall(r"(?<!-D)PGSAFE_[A-Z_]*[A-Z]", text))):
            if name in known or name == "PGSAFE_DENY_RELATOIN" or name.startswith(("PGSAFE_DOCS_", "PGSAFE_IT_", "PGSAFE_FUZZ_", "PGSAFE_LOAD_", "PGSAFE_PG_", "PGSAFE_WL_", "PGSAFE_CROSS_")):
                continue  # the misspelling is configuration.md's own example; the rest are test knobs
            fail(doc, f"{name} is not a variable pgsafe serve reads")
    ok()


# --- reason-codes.md ------------------------------------------------------------------------


def reason_codes_in_code():
    with open("src/guard/guard.c", encoding="utf-8") as handle:
        source = handle.read()
    table = re.search(r"reason_names\[GUARD_REASON_COUNT\] = \{(.*?)\};", source, re.S)
    names = re.findall(r'\[GUARD_[A-Z_]+\] = "([a-z_]+)"', table.group(1)) if table else []
    with open("include/pgsafe/guard.h", encoding="utf-8") as handle:
        header = handle.read()
    enum = re.search(r"typedef enum guard_reason \{(.*?)\} guard_reason;", header, re.S)
    members = [name for name in re.findall(r"^\s*(GUARD_[A-Z_]+)", enum.group(1) if enum else "", re.M)
               if name != "GUARD_REASON_COUNT"]
    check(names and len(names) == len(members), "src/guard/guard.c",
          f"the reason name table has {len(names)} names for {len(members)} codes in guard.h")
    return [name for name in names if name != "ok"]


def reason_codes():
    path = "docs/reason-codes.md"
    codes = reason_codes_in_code()
    documented = {}
    for heading, body in sections(path).items():
        match = re.fullmatch(r"`([a-z_]+)`", heading)
        if match:
            documented[match.group(1)] = body
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    headings = [(number + 1, line[3:].strip().strip("`")) for number, line in enumerate(lines) if line.startswith("## ")]

    def section_of(line):
        names = [name for number, name in headings if number < line]
        return names[-1] if names else None

    unit_tests = set()
    for source in glob.glob("tests/unit/*.c"):
        with open(source, encoding="utf-8") as handle:
            unit_tests |= set(re.findall(r"START_TEST\((\w+)\)", handle.read()))
    for code in codes:
        where = f"{path} ({code})"
        if not check(code in documented, where, f"no section `## \\`{code}\\``"):
            continue
        body = documented[code]
        if "**Not reachable from SQL.**" in body:
            named = set(re.findall(r"`(\w+)`", body)) & unit_tests
            check(bool(named), where, "an unreachable code must name the unit test that covers it")
            continue
        check("**Fix:**" in body, where, "no **Fix:** paragraph")
        # The example must be an executed console block in this section producing this code.
        examples = []
        for info, line, content in fenced_blocks(path):
            if info == "console" and section_of(line) == code:
                examples += [(expected, status) for _, command, expected, status in parse_console(line, content)
                             if "pgsafe check" in command]
        shows_code = [expected for expected, status in examples
                      if status == 1 and (f"rejected: {code}" in expected or any(f'"reason":"{code}"' in l for l in expected))]
        check(bool(shows_code), where, "no executed `pgsafe check` example (console block) rejecting with this code")
    for code in sorted(set(documented) - set(codes)):
        fail(path, f"a section for {code}, which is not a reason code of the guard")


# --- clients.md ----------------------------------------------------------------------------

CONNECTION = {"PGHOST", "PGDATABASE", "PGSERVICE", "DATABASE_URL", "PGSAFE_DSN", "PGSAFE_DATABASES",
              "PGSAFE_DATABASE_CONFIG"}
PASSWORD_IN_TEXT = re.compile(r"password|PGPASSWORD|://[^/@\s:]*:[^/@\s]*@", re.I)


def check_server(where, name, server, inputs):
    where = f"{where} ({name})"
    command, args, env = server.get("command", ""), server.get("args", []), server.get("env")
    if os.path.basename(command) == "wsl.exe":
        command, args = args[1], args[2:]  # ["-e", "/path/pgsafe", "serve", ...]
    via_npx = os.path.basename(command) == "npx"
    if via_npx:
        # ["--yes", "--package=/path/pgsafe-V.tgz", "pgsafe", "serve", ...]: the npm package
        # from its release tarball; by name, npx would run whatever the registry holds.
        package = next((arg.split("=", 1)[1] for arg in args if arg.startswith("--package=")), "")
        check(os.path.isabs(package) and package.endswith(".tgz"), where,
              "npx should run the npm package's tarball (--package=/absolute/path.tgz), not a name")
        at = args.index("pgsafe") if "pgsafe" in args else len(args)
        command, args = "pgsafe", args[at + 1:]
    check(os.path.basename(command) == "pgsafe" and (os.path.isabs(command) or via_npx), where,
          f"command should be the absolute path of pgsafe, not {command!r}")
    if not check(args[:1] == ["serve"], where, f"args should start with \"serve\": {args}"):
        return
    result = run(["pgsafe", *args, "--help"])
    check(result.returncode == 0, where, f"pgsafe {' '.join(args)} --help exits {result.returncode}",
          result.stderr.strip().split("\n"))
    check("--dsn" not in args and not any(PASSWORD_IN_TEXT.search(arg) for arg in args), where,
          "the connection and any password belong in env, not in args")
    if not check(isinstance(env, dict) and CONNECTION & set(env), where, "env should hold the connection settings"):
        return
    check(all(isinstance(value, str) for value in env.values()), where, "every env value must be a string")
    for value in env.values():
        for reference in re.findall(r"\$\{input:([^}]+)\}", value):
            check(reference in {item.get("id") for item in inputs}, where, f"${{input:{reference}}} has no input")


def check_config_json(where, document):
    if "servers" in document:  # VS Code's mcp.json
        inputs = document.get("inputs", [])
        check(any(item.get("type") == "promptString" and item.get("password") is True for item in inputs), where,
              "a VS Code mcp.json should prompt for the password with an input of password: true")
        servers = document["servers"]
    else:
        inputs = []
        servers = document.get("mcpServers", {})
    check(isinstance(servers, dict) and len(servers) > 0, where, "no server in the snippet")
    for name, server in (servers.items() if isinstance(servers, dict) else []):
        check_server(where, name, server, inputs)


def shell_commands(content):
    """The commands of an sh block as word lists: continuation lines and quoted line breaks
    joined, comments dropped."""
    commands, current = [], ""
    for line in content:
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        try:
            words = shlex.split(current, comments=True)
        except ValueError:  # an open quote: the command goes on
            current += "\n"
            continue
        if words:
            commands.append(words)
        current = ""
    return commands


def clients():
    path = "docs/clients.md"
    seen = {"json": 0, "claude mcp add": 0, "inspector": 0}
    for info, line, content in fenced_blocks(path):
        where = f"{path}:{line - 1}"
        if info == "json":
            seen["json"] += 1
            try:
                document = json.loads("\n".join(content))
            except json.JSONDecodeError as error:
                fail(where, f"the JSON does not parse: {error}")
                continue
            ok()
            check_config_json(where, document)
        elif info == "sh":
            for words in shell_commands(content):
                if words[:3] == ["claude", "mcp", "add-json"]:
                    seen["claude mcp add"] += 1
                    check_config_json(where, {"mcpServers": {words[3]: json.loads(words[4])}})
                elif words[:3] == ["claude", "mcp", "add"]:
                    seen["claude mcp add"] += 1
                    separator = words.index("--") if "--" in words else len(words)
                    options, server = words[3:separator], words[separator + 1:]
                    env = [options[i + 1] for i, word in enumerate(options[:-1]) if word in ("-e", "--env")]
                    check(any(item.split("=")[0] in CONNECTION for item in env), where,
                          "claude mcp add should pass the connection with -e/--env")
                    first_option = next((i for i, word in enumerate(options) if word.startswith("-")), len(options))
                    check(first_option > 0 and not options[0].startswith("-"), where,
                          "the server's name must come before the -e options")
                    check_server(where, options[0] if options else "?",
                                 {"command": server[0] if server else "", "args": server[1:],
                                  "env": dict(item.split("=", 1) for item in env)}, [])
                elif any(word.startswith("@modelcontextprotocol/inspector") for word in words):
                    seen["inspector"] += 1
                    check("--cli" in words and "--method" in words, where, "the Inspector CLI needs --cli and --method")
                    env = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-e"]
                    check(any(item.split("=")[0] in CONNECTION for item in env), where,
                          "the Inspector should pass the connection with -e")
                    check(not any(PASSWORD_IN_TEXT.search(word) for word in words if "=" not in word), where,
                          "no password in the server's arguments")
                    at = next((i for i, word in enumerate(words) if os.path.basename(word) == "pgsafe"), None)
                    check(at is not None and words[at + 1:at + 2] == ["serve"], where, "the Inspector should start pgsafe serve")
    for kind, count in seen.items():
        check(count > 0, path, f"no {kind} example found")


def architecture():
    """Every code name architecture.md gives (a backticked snake_case word) is in the source."""
    source = ""
    for name in glob.glob("src/*/*.[ch]") + glob.glob("src/*.c") + glob.glob("include/pgsafe/*.h"):
        with open(name, encoding="utf-8") as handle:
            source += handle.read()
    with open("docs/architecture.md", encoding="utf-8") as handle:
        names = set(re.findall(r"`([a-z][a-z0-9]*_[a-z0-9_]+)`", handle.read()))
    for name in sorted(names):
        check(re.search(r"\b" + name + r"\b", source) is not None, "docs/architecture.md",
              f"{name} is not a name in src/ or include/")
    # A table row that names files: the names it gives are in those files (a function that
    # moved leaves its row stale).
    with open("docs/architecture.md", encoding="utf-8") as handle:
        rows = [line for line in handle.read().split("\n") if line.startswith("|")]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) < 3:
            continue
        paths = re.findall(r"`((?:src|include)/[^`]*)`", cells[1])
        files = []
        for path in paths:
            files += sorted(glob.glob(path + "*.[ch]")) if path.endswith("/") else [path]
        if not files:
            continue
        text = ""
        for name in files:
            if check(os.path.isfile(name), "docs/architecture.md", f"{name} (in the row of {cells[0]}) does not exist"):
                with open(name, encoding="utf-8") as handle:
                    text += handle.read()
        for name in re.findall(r"`([a-z][a-z0-9]*_[a-z0-9_]+|[a-z]+)`", cells[2]):
            check(re.search(r"\b" + name + r"\b", text) is not None, "docs/architecture.md",
                  f"{name} is not in {', '.join(paths)} (the row of {cells[0]})")


def main():
    console_examples()
    # PGSAFE_DOCS_FILTER=clients (say) also runs the checks of the page it names.
    for page, page_checks in (("docs/architecture.md", architecture), ("docs/configuration.md", configuration),
                              ("docs/reason-codes.md", reason_codes), ("docs/clients.md", clients)):
        if not FILTER or FILTER in page:
            page_checks()
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
