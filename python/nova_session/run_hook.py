"""The program Claude Code runs for every hook: ``python -I -S …/nova_session/run_hook.py EVENT``.

It is run by its path, not with ``-m`` (runpy costs milliseconds in every
hook process), so that the command in ``settings.json`` stays readable and
so that even a package that cannot be imported (``NOVA_SESSION_BACKEND=rust``
without the kernel, a broken install) fails open: one line on stderr, exit
status 0, nothing on stdout. ``-I`` keeps the project directory, where the
hook runs, and this script's own directory off ``sys.path``. ``-S`` skips
``site`` (the ``.pth`` files of every package in the environment, a third of
a bare interpreter's start): the directory that holds this package is put on
``sys.path`` instead, after the standard library, as ``site`` would.
The cyclic garbage collector is off: a hook lives milliseconds and leaves
no cycles worth collecting, and its passes over the objects the imports
create cost a few percent of the process (a ``NOVA_SESSION_SCANNER`` plug-in
is loaded with it on again: that code is not ours). It ends with ``os._exit``,
without the interpreter's teardown.
"""

from __future__ import annotations

import gc
import os
import sys

gc.disable()
if sys.flags.no_site:
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    from nova_session.hooks import main
except Exception as exc:  # noqa: BLE001 - a hook never fails the agent
    sys.stderr.write("nova-session hook: cannot load nova_session: %s\n" % exc)
    sys.exit(0)
status = main(sys.argv[1:])
if os.environ.get("NOVA_SESSION_SCANNER"):
    sys.exit(status)  # plug-in code ran: its files and exit handlers get the full teardown
# Everything the hook wrote went through os.write on descriptors it closed, so the
# interpreter's teardown (milliseconds of freeing what the process loses anyway) is
# skipped; only the standard streams buffer.
try:
    sys.stdout.flush()
    sys.stderr.flush()
finally:
    os._exit(status)
