"""libtorrent's view of .torrent files, for the metainfo tests (run with /usr/bin/python3, Debian libtorrent 2.0.x).

  lt_torrent.py create <path> <out.torrent> <v1|v2|hybrid> <piece_length> [tracker...]
      makes a .torrent with lt.create_torrent and prints its infohashes as one JSON line
  lt_torrent.py info <file.torrent>
      loads a .torrent with lt.torrent_info and prints what libtorrent read as one JSON line
  lt_torrent.py magnet <file.torrent>
      prints lt.make_magnet_uri for the torrent
  lt_torrent.py parse-magnet <uri>
      prints what lt.parse_magnet_uri read: infohashes, name, trackers, peers, file priorities (from `so`)
  lt_torrent.py seed <file.torrent> <save_path>
      adds the torrent with its data, forces a hash check and prints the final state (seeding or not)
"""
import json
import os
import sys
import time

import libtorrent as lt


def hashes(ti):
    ih = ti.info_hashes()
    out = {}
    if ih.has_v1():
        out['v1'] = str(ih.v1)
    if ih.has_v2():
        out['v2'] = str(ih.v2)
    return out


def create(path, out, version, piece_length, trackers):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = {'v1': lt.create_torrent.v1_only, 'v2': lt.create_torrent.v2_only, 'hybrid': 0}[version]
    ct = lt.create_torrent(fs, piece_length, flags=flags)
    for i, t in enumerate(trackers):
        ct.add_tracker(t, i)
    ct.set_creator('libtorrent 2.0.8 (mainline fixtures)')
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    entry = ct.generate()
    entry.pop(b'creation date', None)  # deterministic fixtures
    data = lt.bencode(entry)
    with open(out, 'wb') as f:
        f.write(data)
    print(json.dumps({'event': 'created', **hashes(lt.torrent_info(data))}))


def info(path):
    ti = lt.torrent_info(path)
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        files.append({'path': fs.file_path(i), 'size': fs.file_size(i), 'pad': bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)})
    print(json.dumps({'event': 'info', 'name': ti.name(), 'total_size': ti.total_size(), 'piece_length': ti.piece_length(),
                      'num_pieces': ti.num_pieces(), 'files': files, **hashes(ti)}))


def seed(path, save_path):
    ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                      'enable_upnp': False, 'enable_natpmp': False})
    h = ses.add_torrent({'ti': lt.torrent_info(path), 'save_path': save_path})
    h.force_recheck()
    # The recheck ends in seeding (every piece verified) or downloading/finished (some failed); wait for either
    # once the check has started (or 3 s passed without one being seen: a tiny torrent checks in an instant).
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    start = time.time()
    seen_check = False
    st = h.status()
    while time.time() < start + 60:
        st = h.status()
        seen_check = seen_check or st.state in checking
        if st.state == lt.torrent_status.seeding:
            break
        if st.state not in checking and (seen_check or time.time() > start + 3):
            break
        time.sleep(0.05)
    print(json.dumps({'event': 'seed', 'state': str(st.state), 'seeding': st.state == lt.torrent_status.seeding,
                      'num_pieces': st.num_pieces, 'progress': st.progress, **hashes(h.torrent_file())}))


def magnet(path):
    print(json.dumps({'event': 'magnet', 'uri': lt.make_magnet_uri(lt.torrent_info(path))}))


def parse_magnet(uri):
    p = lt.parse_magnet_uri(uri)
    ih = p.info_hashes
    out = {'event': 'parsed', 'name': p.name, 'trackers': list(p.trackers),
           'peers': ['[%s]:%d' % (h, port) if ':' in h else '%s:%d' % (h, port) for h, port in p.peers],
           'file_priorities': [int(x) for x in p.file_priorities]}
    if ih.has_v1():
        out['v1'] = str(ih.v1)
    if ih.has_v2():
        out['v2'] = str(ih.v2)
    print(json.dumps(out))


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'create':
        create(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6:])
    elif cmd == 'info':
        info(sys.argv[2])
    elif cmd == 'magnet':
        magnet(sys.argv[2])
    elif cmd == 'parse-magnet':
        parse_magnet(sys.argv[2])
    elif cmd == 'seed':
        seed(sys.argv[2], sys.argv[3])
    else:
        sys.exit('unknown command ' + cmd)
