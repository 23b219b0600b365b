"""One libtorrent session exercising BEP 44, 51 and 33 against a single DHT node (run with /usr/bin/python3).

Usage: lt_storage.py '<json>' with {"port": P, "theirs": {"pk", "salt", "target"}, "mine": {"pk", "sk", "salt",
"data"}, "immutable": "<text>"}; keys and targets in hex, sk the 64-byte expanded secret key. The session knows
only 127.0.0.1:P. In order it gets the mutable item (theirs.pk, theirs.salt) and the immutable item theirs.target,
puts a mutable item signed with mine.sk and an immutable one, and samples the node. One JSON line per result:
  {"event": "mutable", "item": "<bencoded hex>", "seq", "key", "salt", "signature", "authoritative"}
  {"event": "immutable", "item": "<bencoded hex>", "target"}
  {"event": "put", "kind": "mutable", "num_success", "public_key", "salt", "seq"}
  {"event": "put", "kind": "immutable", "num_success", "target"}
  {"event": "sample", "interval", "num", "samples": ["<hex>", ...]}
  {"event": "timeout", "waiting_for": "<alert>"} when an alert does not come within 15 s;
  {"event": "done", "port"} last: libtorrent's listen port, which is its DHT node's UDP port ("sample_interval" in
  the arguments sets the interval its sample_infohashes replies give).

Then the session stays up and takes one JSON command a line on stdin until {"cmd": "quit"} or EOF:
  {"cmd": "seed"}      -> {"event": "seeding", "infohash"}: a torrent made here over 64 KiB of random data, added in
                          seed mode, then force_dht_announce (libtorrent sets the announce's seed flag for seeds;
                          the binding cannot pass announce flags to session.dht_announce).
  {"cmd": "download"}  -> {"event": "downloading", "infohash"}: a random info hash added by magnet (no data, not a
                          seed), then force_dht_announce.
Unsolicited while it serves: {"event": "announce_out", "infohash", "port", "implied_port", "seed", "to"} for each
announce_peer the node sends (read from its packet log; "seed" 0 when the query has none), and
{"event": "error", "message"} for a bad command.
"""
import binascii
import json
import os
import re
import shutil
import sys
import tempfile
import time

import ltcommon
from ltcommon import drain_alerts, emit, listen_port, lt, make_session


def wait_for(ses, kind, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, kind):
                return a
    emit('timeout', waiting_for=kind.__name__)
    return None


def unwrap(item):
    # The binding hands an item over as a dict around the value ({"key", "value", ...}).
    return item['value'] if isinstance(item, dict) and 'value' in item else item


def hexs(b):
    if isinstance(b, str):  # the binding returns some byte strings (salt) as text
        b = b.encode('utf-8', 'surrogateescape')
    return binascii.hexlify(bytes(b)).decode()


def main():
    args = json.loads(sys.argv[1])
    port = int(args['port'])
    # A known sample interval, for the test to check that our sampleInfohashes reads it.
    ses = make_session('127.0.0.1', 0, dht_sample_infohashes_interval=int(args.get('sample_interval', 21600)))
    lt_port = listen_port(ses)
    ses.add_dht_node(('127.0.0.1', port))
    ses.apply_settings({'enable_dht': True})
    time.sleep(1.5)  # the node is pinged and enters the routing table

    theirs = args['theirs']
    ses.dht_get_mutable_item(binascii.unhexlify(theirs['pk']), theirs['salt'].encode())
    a = wait_for(ses, lt.dht_mutable_item_alert)
    if a:
        emit('mutable', item=hexs(lt.bencode(unwrap(a.item))), seq=a.seq, key=hexs(a.key), salt=hexs(a.salt),
             signature=hexs(a.signature), authoritative=a.authoritative)

    ses.dht_get_immutable_item(lt.sha1_hash(binascii.unhexlify(theirs['target'])))
    a = wait_for(ses, lt.dht_immutable_item_alert)
    if a:
        emit('immutable', item=hexs(lt.bencode(unwrap(a.item))), target=str(a.target))

    mine = args['mine']
    ses.dht_put_mutable_item(binascii.unhexlify(mine['sk']), binascii.unhexlify(mine['pk']),
                             mine['data'].encode(), mine['salt'].encode())
    a = wait_for(ses, lt.dht_put_alert)
    if a:
        emit('put', kind='mutable', num_success=a.num_success, public_key=hexs(a.public_key), salt=hexs(a.salt),
             seq=a.seq)

    target = ses.dht_put_immutable_item(args['immutable'])
    a = wait_for(ses, lt.dht_put_alert)
    if a:
        emit('put', kind='immutable', num_success=a.num_success, target=str(a.target), returned=str(target))

    ses.dht_sample_infohashes(('127.0.0.1', port), lt.sha1_hash(bytes(20)))
    a = wait_for(ses, lt.dht_sample_infohashes_alert)
    if a:
        interval = a.interval
        seconds = interval.total_seconds() if hasattr(interval, 'total_seconds') else interval
        emit('sample', interval=int(seconds), num=a.num_infohashes, samples=[str(h) for h in a.samples])

    emit('done', port=lt_port)
    serve(ses)
    ses.apply_settings({'enable_dht': False})


def make_seed(ses, work):
    d = tempfile.mkdtemp(dir=work)
    with open(os.path.join(d, 'data.bin'), 'wb') as f:
        f.write(os.urandom(65536))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(d, 'data.bin'))
    # v1 only: a hybrid torrent would also announce its truncated v2 hash.
    t = lt.create_torrent(fs, 16384, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(t, d)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(t.generate())
    atp.save_path = d
    atp.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)
    end = time.time() + 15
    while not h.status().is_seeding:
        if time.time() > end:
            raise RuntimeError('the torrent did not start seeding')
        time.sleep(0.02)
    h.force_dht_announce()
    return str(atp.ti.info_hashes().v1)


def make_download(ses, work):
    ih = binascii.hexlify(os.urandom(20)).decode()
    atp = lt.parse_magnet_uri('magnet:?xt=urn:btih:%s' % ih)
    atp.save_path = tempfile.mkdtemp(dir=work)
    h = ses.add_torrent(atp)
    h.force_dht_announce()
    return ih


# The packet log's line for a sent packet starts "==> [<ip>:<port>]" (the binding has no direction field).
SENT = re.compile(rb'^==> \[?([0-9.]+):([0-9]+)\]?')


def on_alert(a):
    if not isinstance(a, lt.dht_pkt_alert):
        return
    m = SENT.match(a.message().encode('utf-8', 'surrogateescape'))
    if not m:
        return
    try:
        msg = lt.bdecode(bytes(a.pkt_buf))
    except Exception:
        return
    if not isinstance(msg, dict) or msg.get(b'q') != b'announce_peer':
        return
    args = msg.get(b'a', {})
    emit('announce_out', infohash=hexs(args.get(b'info_hash', b'')), port=args.get(b'port'),
         implied_port=args.get(b'implied_port', 0), seed=args.get(b'seed', 0),
         to='%s:%s' % (m.group(1).decode(), m.group(2).decode()))


class Quit(SystemExit):
    """Ends the command loop (ltcommon.serve lets SystemExit through)."""


def serve(ses):
    work = tempfile.mkdtemp(prefix='lt_storage_')
    commands = {'seed': make_seed, 'download': make_download}

    def handle(msg):
        cmd = msg.get('cmd')
        if cmd == 'quit':
            raise Quit()
        if cmd not in commands:
            raise ValueError('unknown command %r' % cmd)
        ih = commands[cmd](ses, work)
        emit('seeding' if cmd == 'seed' else 'downloading', infohash=ih)

    try:
        ltcommon.serve(handle, lambda: drain_alerts(ses, on_alert), timeout=lambda: 0.02)
    except Quit:
        pass
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
