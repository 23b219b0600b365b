"""libtorrent as a uTP-only peer for the uTP interop tests (run with /usr/bin/python3).

Usage:
  lt_utp.py seed SIZE          create a SIZE-byte torrent in a temp dir and seed it; emits
                               {"event":"ready","port":P,"info_hash":HEX}
  lt_utp.py fetch TORRENT DIR HOST PORT
                               add TORRENT (saving into DIR), connect to HOST:PORT over uTP and download; emits
                               {"event":"ready","port":P}, then "peer" events and {"event":"finished"} once every
                               piece passed libtorrent's hash check (or {"event":"hash_failed"} per bad piece).

TCP is disabled both ways, so every peer connection is uTP. The helper exits when stdin closes (the test ended) or
after 120 s, whichever comes first.
"""
import os
import select
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ltcommon import emit, listen_port, make_session  # noqa: E402

import libtorrent as lt  # noqa: E402

UTP_ONLY = dict(
    enable_incoming_tcp=False,
    enable_outgoing_tcp=False,
    enable_incoming_utp=True,
    enable_outgoing_utp=True,
    # We speak plaintext BitTorrent only (no MSE/PE): otherwise libtorrent's first outgoing attempt is encrypted.
    out_enc_policy=int(lt.enc_policy.disabled),
    in_enc_policy=int(lt.enc_policy.enabled),
)


def stdin_closed():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.read(1) == ''


def report_alerts(ses, seen):
    for a in ses.pop_alerts():
        t = type(a).__name__
        if t in ('peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert', 'incoming_connection_alert'):
            emit('peer', alert=t, message=a.message())
        elif t == 'hash_failed_alert':
            emit('hash_failed', piece=a.piece_index)
        elif t == 'torrent_finished_alert' and 'finished' not in seen:
            seen.add('finished')
            emit('finished')
        elif t in ('torrent_error_alert', 'file_error_alert'):
            emit('error', message=a.message())


def seed(size):
    d = tempfile.mkdtemp(prefix='lt_utp_')
    with open(os.path.join(d, 'data.bin'), 'wb') as f:
        f.write(os.urandom(size))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(d, 'data.bin'))
    ct = lt.create_torrent(fs, 16384 * 4)
    lt.set_piece_hashes(ct, d)
    ti = lt.torrent_info(ct.generate())
    ses = make_session(**UTP_ONLY)
    port = listen_port(ses)
    h = ses.add_torrent({'ti': ti, 'save_path': d})
    end = time.time() + 20
    while not h.status().is_seeding and time.time() < end:
        time.sleep(0.05)
    emit('ready', port=port, info_hash=str(h.info_hash()))
    return ses


def fetch(torrent, save_dir, host, port):
    ses = make_session(**UTP_ONLY)
    lport = listen_port(ses)
    ti = lt.torrent_info(torrent)
    h = ses.add_torrent({'ti': ti, 'save_path': save_dir})
    emit('ready', port=lport, info_hash=str(h.info_hash()))
    h.connect_peer((host, int(port)))
    return ses


def main():
    mode = sys.argv[1]
    ses = seed(int(sys.argv[2])) if mode == 'seed' else fetch(*sys.argv[2:6])
    seen = set()
    end = time.time() + 120
    while time.time() < end:
        report_alerts(ses, seen)
        if stdin_closed():
            break
        time.sleep(0.05)


if __name__ == '__main__':
    main()
