"""A lone libtorrent DHT node on loopback for KRPC codec interop tests.

Prints {"event": "ready", "port": P} once its DHT listens on 127.0.0.1:P (UDP), then runs until stdin closes or
the timeout (argv[1], seconds, default 30) passes. Run with /usr/bin/python3 (Debian's python3-libtorrent).
"""
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ltcommon import emit, listen_port, make_session  # noqa: E402

timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
ses = make_session('127.0.0.1', 0)
port = listen_port(ses)
ses.apply_settings({'enable_dht': True})
# The DHT socket comes up shortly after the setting; give it a moment before announcing readiness.
time.sleep(0.3)
emit('ready', port=port)
end = time.time() + timeout
while time.time() < end:
    r, _, _ = select.select([sys.stdin], [], [], 0.2)
    if r and not sys.stdin.read(1):
        break
    ses.pop_alerts()
