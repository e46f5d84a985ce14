"""End to end: the real Claude Code CLI, offline, recording through nova_session's hooks.

The CLI (Claude Code 2.1.332, bundled in the ``claude-agent-sdk==0.2.189``
wheel of the test extras) runs against ``stand_in.StandIn``, a scripted
stand-in for the Messages API, in a scratch HOME, with the hooks installed by
``nova-session install``. Beside them, ``dump_payload.py`` keeps every hook
input Claude Code sent, so the records can be checked against Claude's own
figures (durations, agent ids, reasons) and not only against our script.

One module-scoped fixture plays the whole scenario once (about a minute):

1. ``[[main]]``: parallel Read / Bash ``cd src && pwd`` / Glob; a failing Bash;
   an Edit whose old_string is absent plus an unknown tool (neither fires
   PreToolUse/PostToolUse, only PostToolBatch); an MCP call; a Task whose
   subagent (``[[sub]]``) runs a Bash; a final text.
2. ``--continue``, ``[[second]]``: a Bash that writes a file.
3. ``--resume``, ``/greet world``: a project slash command.
4. ``--resume``, ``/compact``.
5. ``--resume``, ``[[slow]]``: a Bash that sleeps 30 s, interrupted (SIGINT) once
   its tool_start record is in the session file.

Each test function checks one point of the record contract, so a failure
names what broke.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stand_in import StandIn, text, tool_use

HERE = Path(__file__).resolve().parent
CLAUDE_CODE_VERSION = "2.1.332"
SDK_REQUIREMENT = "claude-agent-sdk==0.2.189"
CLI_TIMEOUT = 120  # seconds, per CLI run
SLOW_START_TIMEOUT = 20  # seconds to wait for the slow call's tool_start (the call itself sleeps 30)

# Hook events whose input is dumped (all those the records are checked against).
DUMPED_EVENTS = (
    "SessionStart",
    "SessionEnd",
    "InstructionsLoaded",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "PermissionDenied",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "CwdChanged",
    "Stop",
    "StopFailure",
)
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied")  # take a matcher

# The tool calls the stand-in makes, by tool_use id.
READ = "toolu_main_read"
CD_PWD = "toolu_main_cd_pwd"
GLOB = "toolu_main_glob"
EXIT_3 = "toolu_main_exit_3"
EDIT_ABSENT = "toolu_main_edit_absent"
NO_SUCH_TOOL = "toolu_main_no_such_tool"
MCP_LOOKUP = "toolu_main_mcp_lookup"
TASK = "toolu_main_task"
SUB_LS = "toolu_sub_ls"
ECHO = "toolu_second_echo"
SLEEP = "toolu_slow_sleep"
MAIN_THREAD_CALLS = (READ, CD_PWD, GLOB, EXIT_3, EDIT_ABSENT, NO_SUCH_TOOL, MCP_LOOKUP, TASK, ECHO, SLEEP)
FIRST_TURN_CALLS = (READ, CD_PWD, GLOB, EXIT_3, EDIT_ABSENT, NO_SUCH_TOOL, MCP_LOOKUP, TASK, SUB_LS)
# Claude Code rejects these before running anything: no PreToolUse/PostToolUse, only PostToolBatch.
UNHOOKED = (EDIT_ABSENT, NO_SUCH_TOOL)
# Interrupted in run 5: started, never finished.
UNFINISHED = (SLEEP,)
# Claude Code calls the Task tool "Agent" in PreToolUse/PostToolUse, "Task" in PostToolBatch.
TOOL_ALIASES = {"Task": {"Task", "Agent"}}

RUNS = (
    ("main", "[[main]] look at the project"),
    ("second", "[[second]] write a file"),
    ("greet", "/greet world"),
    ("compact", "/compact"),
    ("slow", "[[slow]] wait for something slow"),
)
KILLED_RUN = "slow"
CONTINUED_RUN = "second"  # continued with --continue; the later runs with --resume ID
CONTINUE = "--continue"


def scripts(project: str) -> dict:
    """The stand-in's scripts. Inputs are written the way Claude Code normalises
    them (the Edit's ``replace_all``), so the recorded input must equal what was sent."""
    return {
        "main": [
            [
                tool_use(READ, "Read", {"file_path": project + "/src/app.py"}),
                tool_use(CD_PWD, "Bash", {"command": "cd src && pwd", "description": "Show src"}),
                tool_use(GLOB, "Glob", {"pattern": "**/*.py"}),
            ],
            [tool_use(EXIT_3, "Bash", {"command": "exit 3", "description": "Fail on purpose"})],
            [
                tool_use(
                    EDIT_ABSENT,
                    "Edit",
                    {
                        "replace_all": False,
                        "file_path": project + "/src/app.py",
                        "old_string": "NOT IN THE FILE",
                        "new_string": "x",
                    },
                ),
                tool_use(NO_SUCH_TOOL, "NoSuchTool", {"x": 1}),
            ],
            [tool_use(MCP_LOOKUP, "mcp__notes__lookup", {"key": "alpha"})],
            [
                tool_use(
                    TASK,
                    "Task",
                    {"description": "sub", "prompt": "[[sub]] look around", "subagent_type": "general-purpose"},
                )
            ],
            [text("Main work done.")],
        ],
        "sub": [
            [tool_use(SUB_LS, "Bash", {"command": "ls", "description": "List files"})],
            [text("Subagent done.")],
        ],
        "second": [
            [tool_use(ECHO, "Bash", {"command": "echo resumed > out.txt", "description": "Write out.txt"})],
            [text("Second done.")],
        ],
        "slow": [
            # Not a bare "sleep 30": Claude Code refuses a command that starts with a sleep
            # of 25 s or more (before PreToolUse), and this call must start and be interrupted.
            [tool_use(SLEEP, "Bash", {"command": "echo waiting && sleep 30", "description": "Wait"})],
            [text("Slow done.")],
        ],
    }


# ---------------------------------------------------------------- the scenario


def claude_binary() -> str:
    """The Claude Code executable bundled in claude-agent-sdk, found without importing the package."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        pytest.fail(
            "claude_agent_sdk is not installed in %s; this test needs the Claude Code CLI it bundles: "
            "pip install '%s' (it is in the test extras)" % (sys.executable, SDK_REQUIREMENT)
        )
    path = os.path.join(locations[0], "_bundled", "claude")
    if not os.access(path, os.X_OK):
        pytest.fail("claude_agent_sdk has no executable bundled CLI at %s; reinstall '%s'" % (path, SDK_REQUIREMENT))
    return path


class Run:
    """One CLI process: its arguments, outcome and the hook inputs it produced."""

    def __init__(self, name: str, prompt: str, dump_dir: Path):
        self.name = name
        self.prompt = prompt
        self.dump_dir = dump_dir
        self.returncode = None
        self.stdout = ""
        self.stderr = ""
        self.seconds = 0.0
        self.signals: list = []  # signals sent to stop it (the killed run only)

    @property
    def output(self):
        """The CLI's --output-format json result, or None."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None

    def dumps(self, event: str | None = None) -> list:
        """The hook inputs of this run, in the order the hooks started, optionally of one event."""
        found = []
        for path in sorted(self.dump_dir.iterdir(), key=lambda p: int(p.name.split("-")[0])):
            dumped = json.loads(path.read_text(encoding="utf-8"))
            if event is None or dumped["event"] == event:
                found.append(dumped["payload"])
        return found

    def describe(self) -> str:
        return "run %s (%r): exit %s after %.1f s\nstdout: %s\nstderr: %s" % (
            self.name,
            self.prompt,
            self.returncode,
            self.seconds,
            self.stdout[-2000:],
            self.stderr[-2000:],
        )


class Scenario:
    """Everything the tests inspect once the five runs are over."""

    def __init__(self, root: Path):
        self.root = root
        self.project = os.path.realpath(str(root / "project"))
        self.runs: dict = {}
        self.stand_in: StandIn | None = None
        self.claude_session_id = None
        self.slow_started = False
        self.verify: subprocess.CompletedProcess | None = None
        self.backend = "rust"  # the kernel the hook processes use

    # -- the session file

    @property
    def session_files(self) -> list:
        directory = Path(self.project) / ".nova-protector" / "sessions"
        return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []

    def records(self) -> list:
        files = self.session_files
        assert len(files) == 1, "expected one session file for all five runs, found %r" % files
        return [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines()]

    def of_type(self, kind: str) -> list:
        return [record for record in self.records() if record.get("type") == kind]

    def tool_records(self, kind: str, tool_use_id: str) -> list:
        return [record for record in self.of_type(kind) if record.get("tool_use_id") == tool_use_id]

    # -- what Claude Code and the stand-in said

    def dumps(self, event: str | None = None) -> list:
        return [payload for run in self.runs.values() for payload in run.dumps(event)]

    def tool_dump(self, event: str, tool_use_id: str) -> list:
        return [payload for payload in self.dumps(event) if payload.get("tool_use_id") == tool_use_id]

    def sent(self) -> dict:
        """tool_use id -> the tool call the stand-in sent."""
        assert self.stand_in is not None
        return {call["id"]: call for call in self.stand_in.sent_tool_uses}

    def result_sent_to_model(self, tool_use_id: str):
        """The tool_result content Claude Code sent back for a call (first request holding it)."""
        assert self.stand_in is not None
        for request in self.stand_in.requests:
            for message in (request["body"] or {}).get("messages") or []:
                content = message.get("content")
                for block in content if isinstance(content, list) else ():
                    if block.get("type") == "tool_result" and block.get("tool_use_id") == tool_use_id:
                        return block.get("content")
        return None


def cli_environment(root: Path, stand_in: StandIn, dump_dir: Path) -> dict:
    # Nothing of the caller's Claude Code, Anthropic or nova_session settings may leak in.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE", "NOVA_SESSION_")) and "PROXY" not in key.upper()
    }
    env.update(
        HOME=str(root / "home"),
        ANTHROPIC_BASE_URL=stand_in.url,
        ANTHROPIC_API_KEY="sk-test",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        CLAUDE_CODE_TMPDIR=str(root / "tmp"),
        IS_SANDBOX="1",  # --permission-mode bypassPermissions is refused to root otherwise
        NO_PROXY="127.0.0.1,localhost",
        REALCLIENT_DUMP_DIR=str(dump_dir),
    )
    return env


def cli_arguments(claude: str, prompt: str, mcp_config: Path, resume: str | None) -> list:
    # The prompt comes right after -p: --allowedTools and --mcp-config take any
    # number of values and would swallow a prompt placed after them.
    arguments = [claude, "-p", prompt, "--output-format", "json", "--permission-mode", "bypassPermissions"]
    arguments += ["--mcp-config", str(mcp_config), "--allowedTools", "Glob,Grep"]
    if resume == CONTINUE:
        arguments += ["--continue"]  # the most recent session in this directory: the same one
    elif resume is not None:
        arguments += ["--resume", resume]
    return arguments


def stop_group(process: subprocess.Popen) -> None:
    """Kill what is left of a CLI's process group (a tool's shell, an MCP server)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_quiet(paths: list, quiet: float = 1.0, limit: float = 15.0) -> None:
    """Wait until nothing under paths has changed for quiet seconds: hooks Claude Code
    started may still be writing after the CLI exits."""

    def state():
        found = []
        for path in paths:
            for directory, _, files in os.walk(path):
                for name in files:
                    try:
                        info = os.stat(os.path.join(directory, name))
                    except FileNotFoundError:
                        continue
                    found.append((directory, name, info.st_size, info.st_mtime_ns))
        return sorted(found)

    deadline = time.monotonic() + limit
    last, since = state(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = state()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def run_claude(arguments: list, cwd: str, env: dict):
    """(exit status, stdout, stderr) of one CLI process, run in a session of its own so
    that a timeout can kill it with everything it started."""
    process = subprocess.Popen(
        arguments,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_group(process)
        out, err = process.communicate(timeout=10)
        err += "\n[test] killed after %d s" % CLI_TIMEOUT
    finally:
        stop_group(process)
    return process.returncode, out, err


def run_cli(scenario: Scenario, run: Run, arguments: list, env: dict) -> None:
    started = time.monotonic()
    run.returncode, run.stdout, run.stderr = run_claude(arguments, scenario.project, env)
    run.seconds = time.monotonic() - started
    wait_quiet([scenario.project + "/.nova-protector", str(run.dump_dir)])


def run_cli_and_interrupt(scenario: Scenario, run: Run, arguments: list, env: dict) -> None:
    """Run the CLI until the slow call's tool_start is recorded, then interrupt it
    the way a user would (SIGINT), escalating to SIGTERM and SIGKILL if it lingers."""
    started = time.monotonic()
    out_path, err_path = scenario.root / ("%s.stdout" % run.name), scenario.root / ("%s.stderr" % run.name)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            arguments,
            cwd=scenario.project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + SLOW_START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None:
                if len(scenario.session_files) == 1 and scenario.tool_records("tool_start", SLEEP):
                    scenario.slow_started = True
                    break
                time.sleep(0.05)
            for sig, grace in ((signal.SIGINT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 10)):
                if process.poll() is not None:
                    break
                run.signals.append(signal.Signals(sig).name)
                process.send_signal(sig)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            stop_group(process)
            process.wait(timeout=10)
    run.returncode = process.returncode
    run.seconds = time.monotonic() - started
    run.stdout, run.stderr = out_path.read_text(), err_path.read_text()
    wait_quiet([scenario.project + "/.nova-protector", str(run.dump_dir)])


def make_project(scenario: Scenario) -> Path:
    """The project: a source file, CLAUDE.md, a slash command, our hooks and the dump hook.
    Returns the MCP configuration file."""
    project = Path(scenario.project)
    (project / "src").mkdir(parents=True)
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print('hello')\n")
    (project / "CLAUDE.md").write_text("# Project rules\n\nKeep it simple.\n")
    (project / ".claude" / "commands" / "greet.md").write_text("Say hello to $ARGUMENTS.\n")
    for name in ("home", "tmp", "dumps"):
        (scenario.root / name).mkdir()

    install = subprocess.run(
        [sys.executable, "-m", "nova_session", "install", "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert install.returncode == 0, "nova-session install failed: %s%s" % (install.stdout, install.stderr)
    assert (project / ".claude" / "settings.json").exists()

    # The dump hook goes into settings.local.json, which Claude Code merges with
    # settings.json, so the installed file stays exactly what install wrote
    # (added to, not replaced, should install ever write the local file too).
    local = project / ".claude" / "settings.local.json"
    settings = json.loads(local.read_text()) if local.exists() else {}
    hooks = settings.setdefault("hooks", {})
    dump_command = "%s %s" % (shlex.quote(sys.executable), shlex.quote(str(HERE / "dump_payload.py")))
    for event in DUMPED_EVENTS:
        group: dict = {"hooks": [{"type": "command", "command": "%s %s" % (dump_command, event), "timeout": 10}]}
        if event in TOOL_EVENTS:
            group["matcher"] = "*"
        hooks.setdefault(event, []).append(group)
    local.write_text(json.dumps(settings, indent=2))

    mcp_config = scenario.root / "mcp.json"
    server = {"command": sys.executable, "args": [str(HERE / "mcp_notes.py")]}
    mcp_config.write_text(json.dumps({"mcpServers": {"notes": server}}))
    return mcp_config


def play(scenario: Scenario, claude: str, mcp_config: Path, stand_in: StandIn) -> None:
    for name, prompt in RUNS:
        run = scenario.runs[name] = Run(name, prompt, scenario.root / "dumps" / name)
        run.dump_dir.mkdir()
        resume = CONTINUE if name == CONTINUED_RUN else scenario.claude_session_id
        arguments = cli_arguments(claude, prompt, mcp_config, resume)
        env = cli_environment(scenario.root, stand_in, run.dump_dir)
        env["NOVA_SESSION_BACKEND"] = scenario.backend  # the hooks inherit Claude Code's environment
        if name == KILLED_RUN:
            run_cli_and_interrupt(scenario, run, arguments, env)
            continue
        run_cli(scenario, run, arguments, env)
        output = run.output
        # Without a session id the remaining runs cannot resume: stop here, loudly.
        assert run.returncode == 0 and isinstance(output, dict), run.describe()
        if scenario.claude_session_id is None:
            scenario.claude_session_id = output.get("session_id")
            assert scenario.claude_session_id, run.describe()


def save_logs(scenario: Scenario, stand_in: StandIn) -> None:
    """For whoever debugs a failure: what the stand-in received and sent, and how each run went
    (beside the project, the dumped hook inputs and the scratch HOME under the fixture's tmp dir)."""
    log = {"requests": stand_in.requests, "sent_tool_uses": stand_in.sent_tool_uses}
    (scenario.root / "stand_in.json").write_text(json.dumps(log, indent=1))
    runs = [
        {"name": r.name, "exit": r.returncode, "seconds": r.seconds, "signals": r.signals, "stderr": r.stderr}
        for r in scenario.runs.values()
    ]
    (scenario.root / "runs.json").write_text(json.dumps(runs, indent=1))


@pytest.fixture(scope="module", params=["rust", "python"])
def scenario(request, tmp_path_factory) -> Scenario:
    """The whole scenario, once per kernel the hook processes use (NOVA_SESSION_BACKEND)."""
    claude = claude_binary()
    scenario = Scenario(tmp_path_factory.mktemp("realclient-%s" % request.param))
    scenario.backend = request.param
    mcp_config = make_project(scenario)
    with StandIn(scripts(scenario.project)) as stand_in:
        scenario.stand_in = stand_in
        try:
            play(scenario, claude, mcp_config, stand_in)
        finally:
            save_logs(scenario, stand_in)
    files = scenario.session_files
    if len(files) == 1:
        scenario.verify = subprocess.run(
            [sys.executable, "-m", "nova_session", "verify", files[0].stem, "--project", scenario.project],
            capture_output=True,
            text=True,
            timeout=60,
        )
    return scenario


# ------------------------------------------------------------------ helpers


def same_tool(sent_name: str, recorded_name) -> bool:
    return recorded_name in TOOL_ALIASES.get(sent_name, {sent_name})


def hooked_tool_ids(scenario: Scenario) -> list:
    return [i for i in scenario.sent() if i not in UNHOOKED]


def the_record(scenario: Scenario, kind: str, tool_use_id: str) -> dict:
    found = scenario.tool_records(kind, tool_use_id)
    assert len(found) == 1, "expected one %s record for %s, found %d" % (kind, tool_use_id, len(found))
    return found[0]


# -------------------------------------------------------------------- tests


def test_bundled_cli_is_the_pinned_version():
    version_file = Path(claude_binary()).with_name("claude.version")
    assert version_file.read_text().split()[0] == CLAUDE_CODE_VERSION, (
        "the scenario was written for Claude Code %s (%s)" % (CLAUDE_CODE_VERSION, SDK_REQUIREMENT)
    )


def test_cli_runs_finished_on_one_claude_session(scenario):
    for name, run in scenario.runs.items():
        if name == KILLED_RUN:
            continue
        assert run.returncode == 0, run.describe()
        assert run.output["is_error"] is False, run.describe()
        assert run.output["session_id"] == scenario.claude_session_id, "--resume started a new Claude session"


def test_stand_in_script_was_played(scenario):
    # Guards the harness itself: if Claude Code did not follow the script, the
    # other failures would be about the wrong thing.
    sent = [call["id"] for call in scenario.stand_in.sent_tool_uses]
    assert len(sent) == len(set(sent)), "the stand-in sent a tool call twice: %r" % sent
    assert set(sent) == set(MAIN_THREAD_CALLS + (SUB_LS,))
    played = {(request["marker"], request["step"]) for request in scenario.stand_in.requests}
    for marker, steps in scripts(scenario.project).items():
        # The interrupted run never gets to its last step.
        last = len(steps) - 1 if marker == KILLED_RUN else len(steps)
        missing = [step for step in range(last) if (marker, step) not in played]
        assert not missing, "script [[%s]] stopped before step %s" % (marker, missing[0])


def test_killed_run_was_interrupted_during_the_slow_call(scenario):
    run = scenario.runs[KILLED_RUN]
    assert scenario.slow_started, "no tool_start record for the sleep within %d s\n%s" % (
        SLOW_START_TIMEOUT,
        run.describe(),
    )
    # Claude Code 2.1.332 stops at the first SIGINT: it kills the tool's shell, fires
    # neither PostToolUse/PostToolUseFailure nor PostToolBatch for the call, still
    # runs SessionEnd (reason "other") and exits 0 with an error result.
    assert run.signals == ["SIGINT"], run.describe()
    assert run.seconds < 30, "the CLI outlived the sleep it was interrupted in"
    closing = ("PostToolUse", "PostToolUseFailure", "PostToolBatch")
    assert [event for event in closing if run.dumps(event)] == [], "the interrupted call was closed"
    assert [payload["reason"] for payload in run.dumps("SessionEnd")] == ["other"], run.describe()


def test_one_session_file_starting_with_init(scenario):
    init = scenario.records()[0]
    assert init["type"] == "init"
    assert init["claude_session_id"] == scenario.claude_session_id
    assert init["agent"] == "claude-code"
    assert init["nova_session_backend"] == scenario.backend
    assert scenario.dumps("SessionStart")[0]["source"] == "startup"
    # InstructionsLoaded and SessionStart fire at the same moment, in parallel processes:
    # whichever hook comes first starts the file. When it is not SessionStart, the init says
    # "unknown" and SessionStart follows as a session_start record with the real source.
    if init["source"] != "startup":
        assert init["source"] == "unknown"
        first_start = next(r for r in scenario.records() if r["type"] == "session_start")
        assert first_start["source"] == "startup"


def test_ids_are_gap_free(scenario):
    # Init and end records are written without an id (README, "Records"); all others get 1, 2, 3, ...
    records = scenario.records()
    unnumbered = [r for r in records if r.get("type") in ("init", "end")]
    assert all("id" not in r for r in unnumbered), "an init or end record has an id"
    ids = [r.get("id") for r in records if r.get("type") not in ("init", "end")]
    assert ids == list(range(1, len(ids) + 1))


def test_every_finished_call_has_one_event_with_its_name_and_input(scenario):
    for tool_use_id, call in scenario.sent().items():
        events = scenario.tool_records("event", tool_use_id)
        if tool_use_id in UNFINISHED:
            assert events == [], "the interrupted call %s was closed: %r" % (tool_use_id, events)
            continue
        assert len(events) == 1, "expected one event for %s %s, found %d" % (call["name"], tool_use_id, len(events))
        event = events[0]
        assert same_tool(call["name"], event["tool_name"]), (tool_use_id, event["tool_name"])
        assert event["tool_input"] == call["input"], tool_use_id
        assert event["agent"] == "claude-code"
        assert event["nova_verdict"] == "allowed"


def test_hooked_calls_have_one_tool_start_before_their_event(scenario):
    for tool_use_id in hooked_tool_ids(scenario):
        call = scenario.sent()[tool_use_id]
        start = the_record(scenario, "tool_start", tool_use_id)
        assert start["hook_event"] == "PreToolUse"
        assert same_tool(call["name"], start["tool_name"]), tool_use_id
        assert start["tool_input"] == call["input"], tool_use_id
        assert start["agent"] == "claude-code"
        if tool_use_id in UNFINISHED:
            continue
        event = the_record(scenario, "event", tool_use_id)
        assert start["id"] < event["id"], tool_use_id
        assert event["timestamp_start"] == start["timestamp"], tool_use_id
        assert event["working_dir"] == start["working_dir"], tool_use_id


def test_calls_rejected_before_running_are_closed_by_the_batch(scenario):
    for tool_use_id in UNHOOKED:
        assert scenario.tool_records("tool_start", tool_use_id) == [], "%s fired no PreToolUse" % tool_use_id
        event = the_record(scenario, "event", tool_use_id)
        told_model = scenario.result_sent_to_model(tool_use_id)
        assert isinstance(told_model, str) and told_model.startswith("<tool_use_error>"), told_model
        assert event["hook_event"] == "PostToolBatch"
        assert event["tool_output"] == told_model
        assert event["is_error"] is True
        assert event["timestamp_start"] is None
        assert event["duration_ms"] is None


def test_durations_are_claude_codes_own(scenario):
    checked = 0
    for event_name in ("PostToolUse", "PostToolUseFailure"):
        for payload in scenario.dumps(event_name):
            event = the_record(scenario, "event", payload["tool_use_id"])
            assert event["hook_event"] == event_name, payload["tool_use_id"]
            assert event["duration_ms"] == payload.get("duration_ms"), payload["tool_use_id"]
            checked += 1
    assert checked == len(hooked_tool_ids(scenario)) - len(UNFINISHED)


def test_failing_bash_is_an_error(scenario):
    event = the_record(scenario, "event", EXIT_3)
    assert event["hook_event"] == "PostToolUseFailure"
    assert event["is_error"] is True
    assert event["error"] == "Exit code 3"


def test_successful_calls_are_not_errors(scenario):
    for tool_use_id in (READ, CD_PWD, GLOB, MCP_LOOKUP, TASK, SUB_LS, ECHO):
        event = the_record(scenario, "event", tool_use_id)
        assert event["hook_event"] == "PostToolUse", tool_use_id
        assert event["is_error"] is False, tool_use_id
        assert "error" not in event, tool_use_id


def test_a_tool_batch_record_follows_each_batch(scenario):
    batches = [[call["tool_use_id"] for call in payload["tool_calls"]] for payload in scenario.dumps("PostToolBatch")]
    records = scenario.of_type("tool_batch")
    assert sorted(r["tool_use_ids"] for r in records) == sorted(batches)
    for record in records:
        for tool_use_id in record["tool_use_ids"]:
            event = the_record(scenario, "event", tool_use_id)
            assert event["id"] < record["id"], "the batch of %s was recorded before its event" % tool_use_id


def test_cd_in_a_command_does_not_move_its_own_files(scenario):
    project = scenario.project
    event = the_record(scenario, "event", CD_PWD)
    assert event["working_dir"] == project
    assert not any(path.startswith(project + "/src/src") for path in event["files_accessed"]), event["files_accessed"]
    assert the_record(scenario, "event", READ)["files_accessed"] == [project + "/src/app.py"]


def test_mcp_call_names_server_and_function(scenario):
    event = the_record(scenario, "event", MCP_LOOKUP)
    assert event["mcp_server"] == "notes"
    assert event["mcp_function"] == "lookup"
    assert "note for alpha" in json.dumps(event["tool_output"])


def test_prompts_are_recorded_with_their_ids(scenario):
    submitted = scenario.dumps("UserPromptSubmit")
    records = scenario.of_type("user_prompt")
    assert [(r["prompt"], r["prompt_id"]) for r in records] == [(p["prompt"], p["prompt_id"]) for p in submitted]
    assert records[0]["prompt"] == RUNS[0][1]


def test_tool_records_carry_their_turns_prompt_id(scenario):
    """Each record keeps the prompt_id of the payload it was made from. (A background
    subagent's calls may straddle the next turn: Claude Code decides their prompt_id.)"""
    checked = 0
    for tool_use_id in scenario.sent():
        for start in scenario.tool_records("tool_start", tool_use_id):
            # The payload dump is a second hook beside ours; on a loaded machine it can miss
            # a call (its own timeout): compare where Claude Code's payload was kept.
            for pre in scenario.tool_dump("PreToolUse", tool_use_id):
                assert start["prompt_id"] == pre["prompt_id"], tool_use_id
                checked += 1
        if tool_use_id in UNFINISHED:
            continue  # interrupted: no closing record (checked in its own test)
        event = the_record(scenario, "event", tool_use_id)
        if event["hook_event"] == "PostToolBatch":
            closers = [
                p for p in scenario.dumps("PostToolBatch") if tool_use_id in [c["tool_use_id"] for c in p["tool_calls"]]
            ]
        else:
            closers = scenario.tool_dump(event["hook_event"], tool_use_id)
        assert event["prompt_id"] in {payload["prompt_id"] for payload in closers}, tool_use_id
    assert checked >= len(hooked_tool_ids(scenario)) - 1, checked  # all but at most one dump missed
    first_turn = scenario.of_type("user_prompt")[0]["prompt_id"]
    for tool_use_id in FIRST_TURN_CALLS:
        if tool_use_id != SUB_LS:  # the main thread's calls belong to the turn that made them
            assert the_record(scenario, "event", tool_use_id)["prompt_id"] == first_turn, tool_use_id


def test_slash_command_expansion(scenario):
    expansions = scenario.of_type("user_prompt_expansion")
    assert [(r["command_name"], r["command_args"]) for r in expansions] == [("greet", "world")]


def test_subagent_records(scenario):
    (started,) = scenario.dumps("SubagentStart")
    agent_id = started["agent_id"]
    (start,) = scenario.of_type("subagent_start")
    assert (start["agent_id"], start["agent_type"]) == (agent_id, "general-purpose")
    stops = [r for r in scenario.of_type("subagent_stop") if r.get("agent_id") == agent_id]
    assert len(stops) == 1, scenario.of_type("subagent_stop")
    for kind in ("tool_start", "event"):
        record = the_record(scenario, kind, SUB_LS)
        assert (record.get("agent_id"), record.get("agent_type")) == (agent_id, "general-purpose"), kind
        for tool_use_id in MAIN_THREAD_CALLS:
            for record in scenario.tool_records(kind, tool_use_id):
                assert "agent_id" not in record and "agent_type" not in record, (kind, tool_use_id)


def test_compaction_records(scenario):
    compact = scenario.runs["compact"]
    assert len(scenario.of_type("pre_compact")) == len(compact.dumps("PreCompact")) == 1
    (post,) = scenario.of_type("post_compact")
    (payload,) = compact.dumps("PostCompact")
    assert post["compact_summary"] == payload["compact_summary"]
    assert "The stand-in's summary of the session." in post["compact_summary"]  # what the stand-in answered
    # The helper agents /compact runs stop without ever starting (agent_type "").
    helpers = [p for p in compact.dumps("SubagentStop") if not p.get("agent_type")]
    assert len(scenario.of_type("helper_agent_stop")) == len(helpers)
    assert len(scenario.of_type("subagent_stop")) == 1


def test_session_start_records_of_a_known_session(scenario):
    sources = [record.get("source") for record in scenario.of_type("session_start")]
    expected = [p["source"] for p in scenario.dumps("SessionStart")]
    if scenario.records()[0]["source"] != "unknown":
        expected = expected[1:]  # the first one made the init record (unless InstructionsLoaded came first)
    assert sources == expected
    assert "resume" in sources and "compact" in sources


def test_lifecycle_records(scenario):
    assert len(scenario.of_type("instructions_loaded")) == len(scenario.dumps("InstructionsLoaded")) > 0
    assert len(scenario.of_type("cwd_changed")) == len(scenario.dumps("CwdChanged")) > 0
    assert len(scenario.of_type("stop")) == len(scenario.dumps("Stop")) > 0


def test_one_end_record_per_run(scenario):
    # Every run fires SessionEnd once (the interrupted one too) after recording something.
    records = scenario.records()
    ends = [index for index, record in enumerate(records) if record.get("type") == "end"]
    assert len(ends) == len(scenario.runs), "expected one end record per CLI run, found %d" % len(ends)
    previous = 0
    for index, run in zip(ends, scenario.runs.values()):
        end = records[index]
        payloads = run.dumps("SessionEnd")
        assert len(payloads) == 1, "run %s fired SessionEnd %d times" % (run.name, len(payloads))
        assert end["reason"] == payloads[0]["reason"], run.name
        assert end["session_id"] == scenario.session_files[0].stem
        counted = [r for r in records[1:index] if r.get("type") != "end"]
        assert end["event_count"] == len(counted), run.name
        assert index - previous > 1, "run %s: an end record with nothing recorded before it" % run.name
        previous = index


def test_end_record_lists_the_unfinished_call(scenario):
    ends = scenario.of_type("end")
    for end in ends[:-1]:
        assert end["unfinished_tool_calls"] == 0
        assert "unfinished" not in end
    last = ends[-1]
    assert last["unfinished_tool_calls"] == 1
    (unfinished,) = last["unfinished"]
    start = the_record(scenario, "tool_start", SLEEP)
    assert unfinished["tool_use_id"] == SLEEP
    assert unfinished["tool_name"] == "Bash"
    assert unfinished["tool_input"] == scenario.sent()[SLEEP]["input"]
    assert unfinished["timestamp_start"] == start["timestamp"]


def test_nova_session_verify_passes(scenario):
    assert scenario.verify is not None, "no single session file to verify"
    assert scenario.verify.returncode == 0, scenario.verify.stdout + scenario.verify.stderr
