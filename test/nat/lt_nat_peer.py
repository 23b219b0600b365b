"""A libtorrent peer for the NAT lab (Debian python3-libtorrent 2.0.x; run with /usr/bin/python3).

One session with one magnet torrent, listening on --host:--port, optionally uTP only, connecting to --connect
peers. JSON lines on stdout (ltcommon.emit): started, then `peers` whenever the peer list changes (each peer with
its endpoint, client, peer id, uTP and holepunch flags; read every --poll-ms), and the holepunch alerts and peer-log
lines. Runs until killed or --seconds pass.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop'))

import libtorrent as lt  # noqa: E402
from ltcommon import emit, listen_port, make_session  # noqa: E402

# peer_info.utp_socket (1 << 17 in libtorrent 2.0's peer_info.hpp) is not exported by the Debian binding.
UTP_SOCKET = int(getattr(lt.peer_info, 'utp_socket', 1 << 17))
WATCH = ('HOLEPUNCH', 'HANDSHAKE', 'EXTENDED', 'CONNECT', 'DISCONNECT')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, default=6881)
    ap.add_argument('--infohash', required=True)
    ap.add_argument('--connect', action='append', default=[])
    ap.add_argument('--utp-only', action='store_true')
    ap.add_argument('--seconds', type=float, default=120)
    ap.add_argument('--poll-ms', type=float, default=50, help='how often the peer list is read (bench: 2)')
    args = ap.parse_args()

    extra = {'close_redundant_connections': False}
    if args.utp_only:
        extra.update(enable_outgoing_tcp=False, enable_incoming_tcp=False)
    ses = make_session(args.host, args.port, **extra)
    p = lt.parse_magnet_uri('magnet:?xt=urn:btih:' + args.infohash)
    p.save_path = '/tmp/mainline-lt-nat-peer'
    h = ses.add_torrent(p)
    port = listen_port(ses)
    end = time.time() + 10
    resumed = False
    while time.time() < end and not resumed:
        for a in ses.pop_alerts():
            resumed = resumed or type(a).__name__ == 'torrent_resumed_alert'
        time.sleep(0.02)
    emit('started', port=port)
    for ep in args.connect:
        host, _, prt = ep.rpartition(':')
        h.connect_peer((host, int(prt)))

    last = None
    stop = time.time() + args.seconds
    while time.time() < stop:
        for a in ses.pop_alerts():
            t = type(a).__name__
            msg = a.message()
            if t == 'peer_log_alert' and any(w in msg for w in WATCH):
                emit('log', msg=msg[:300])
            elif t in ('peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert'):
                emit('alert', type=t, msg=msg[:300])
        peers = []
        for pi in h.get_peer_info():
            flags = int(pi.flags)
            peers.append({
                'host': pi.ip[0], 'port': pi.ip[1],
                'client': pi.client.decode('latin1') if isinstance(pi.client, bytes) else str(pi.client),
                'pid': str(pi.pid),
                'utp': bool(flags & UTP_SOCKET),
                'holepunched': bool(flags & int(lt.peer_info.holepunched)),
                'outgoing': bool(flags & int(lt.peer_info.outgoing_connection)),
                'handshake': not bool(flags & int(lt.peer_info.handshake)),
            })
        peers.sort(key=lambda x: (x['host'], x['port']))
        if peers != last:
            emit('peers', peers=peers)
            last = peers
        time.sleep(args.poll_ms / 1000)
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
