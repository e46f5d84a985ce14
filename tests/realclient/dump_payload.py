"""A Claude Code hook that keeps its input: ``dump_payload.py EVENT`` writes
the JSON it reads on stdin to a new file in ``$REALCLIENT_DUMP_DIR``, so the
test knows what Claude Code itself reported (durations, agent ids, reasons).
Installed beside nova_session's hooks, in ``.claude/settings.local.json``."""

from __future__ import annotations

import json
import os
import sys
import time

event = sys.argv[1]
payload = json.loads(sys.stdin.buffer.read())
name = "%d-%d-%s.json" % (time.time_ns(), os.getpid(), event)
with open(os.path.join(os.environ["REALCLIENT_DUMP_DIR"], name), "w", encoding="utf-8") as handle:
    json.dump({"event": event, "payload": payload}, handle)
