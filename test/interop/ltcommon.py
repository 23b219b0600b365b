"""Shared set-up for the libtorrent test peers (Debian python3-libtorrent 2.0.x, run with /usr/bin/python3).

Settings that make libtorrent usable on loopback, learnt the hard way (see NOTES in the repo's docs):
- listen on an explicit IP, never a device name, or it is flagged local-network and gets no DHT;
- no LSD/UPnP/NAT-PMP; no routing-table IP restrictions (every node shares 127.0.0.1);
- a huge DoS-blocker limit, and a non-zero DHT upload limit (0 crashes 2.0.8 with SIGFPE).
"""
import json
import os
import select
import sys
import time

import libtorrent as lt


def loopback_settings(host, port, **extra):
    s = {
        'listen_interfaces': '%s:%d' % (host, port),
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_dht': False,
        # The default router list names public hosts: never look them up from a test.
        'dht_bootstrap_nodes': '',
        'dht_restrict_routing_ips': False,
        'dht_restrict_search_ips': False,
        'dht_enforce_node_id': False,
        'dht_prefer_verified_node_ids': False,
        'dht_ignore_dark_internet': False,
        'dht_block_ratelimit': 100000,
        'dht_upload_rate_limit': 10000000,
        'allow_multiple_connections_per_ip': True,
        'alert_mask': lt.alert.category_t.all_categories,
    }
    s.update(extra)
    return s


def make_session(host='127.0.0.1', port=0, **extra):
    return lt.session(loopback_settings(host, port, **extra))


def emit(event, **fields):
    """One JSON object per line on stdout: the protocol between a test and its libtorrent helper."""
    fields['event'] = event
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def listen_port(ses, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        p = ses.listen_port()
        if p:
            return p
        time.sleep(0.02)
    raise RuntimeError('libtorrent did not start listening')


def drain_alerts(ses, on_alert=None):
    for a in ses.pop_alerts():
        if on_alert:
            on_alert(a)


def serve(handle, pump, timeout=lambda: 0.05):
    """A helper's command loop: each JSON line on stdin goes to handle(cmd) (a failing command is reported as an
    "error" event, and the loop goes on), and pump() runs between reads, at least every timeout() seconds.
    Returns at stdin EOF."""
    # Read the raw fd: a buffered readline would hold lines select() cannot see.
    fd = sys.stdin.fileno()
    buf = b''
    while True:
        r, _, _ = select.select([fd], [], [], timeout())
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                if not line.strip():
                    continue
                try:
                    handle(json.loads(line))
                except SystemExit:
                    raise
                except Exception as e:  # report, keep serving
                    emit('error', message='%s: %s' % (type(e).__name__, e))
        pump()


def exit_now():
    """Exits at once, skipping the sessions' orderly shutdown (seconds of tracker and DHT goodbyes): the test is
    done with them."""
    sys.stdout.flush()
    os._exit(0)
