"""One libtorrent session exercising BEP 44 and BEP 51 against a single DHT node (run with /usr/bin/python3).

Usage: lt_storage.py '<json>' with {"port": P, "theirs": {"pk", "salt", "target"}, "mine": {"pk", "sk", "salt",
"data"}, "immutable": "<text>"}; keys and targets in hex, sk the 64-byte expanded secret key. The session knows
only 127.0.0.1:P. In order it gets the mutable item (theirs.pk, theirs.salt) and the immutable item theirs.target,
puts a mutable item signed with mine.sk and an immutable one, and samples the node. One JSON line per result:
  {"event": "mutable", "item": "<bencoded hex>", "seq", "key", "salt", "signature", "authoritative"}
  {"event": "immutable", "item": "<bencoded hex>", "target"}
  {"event": "put", "kind": "mutable", "num_success", "public_key", "salt", "seq"}
  {"event": "put", "kind": "immutable", "num_success", "target"}
  {"event": "sample", "interval", "num", "samples": ["<hex>", ...]}
  {"event": "timeout", "waiting_for": "<alert>"} when an alert does not come within 15 s; {"event": "done"} last.
"""
import binascii
import json
import sys
import time

from ltcommon import emit, listen_port, lt, make_session


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
    ses = make_session('127.0.0.1', 0)
    listen_port(ses)
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

    ses.apply_settings({'enable_dht': False})
    emit('done')


if __name__ == '__main__':
    main()
