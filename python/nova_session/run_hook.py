"""The program Claude Code runs for every hook: ``python -I …/nova_session/run_hook.py EVENT``.

It is run by its path, not with ``-m`` (runpy costs milliseconds in every
hook process), so that the command in ``settings.json`` stays readable and
so that even a package that cannot be imported (``NOVA_SESSION_BACKEND=rust``
without the kernel, a broken install) fails open: one line on stderr, exit
status 0, nothing on stdout. ``-I`` keeps the project directory, where the
hook runs, and this script's own directory off ``sys.path``.
"""

from __future__ import annotations

import sys

try:
    from nova_session.cli import main
except Exception as exc:  # noqa: BLE001 - a hook never fails the agent
    sys.stderr.write("nova-session hook: cannot load nova_session: %s\n" % exc)
    sys.exit(0)
sys.exit(main(["hook", *sys.argv[1:]]))
