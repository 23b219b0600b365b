"""libtorrent DHT nodes driven by JSON lines, for the DHT interop tests (run with /usr/bin/python3).

One process holds any number of libtorrent sessions ("nodes"), each named by the test. Commands arrive as one JSON
object per line on stdin; events leave as one JSON object per line on stdout (every event has an "event" key and,
where it concerns a node, a "node" key). Stdin EOF (or {"cmd": "quit"}) stops every session and exits 0.

Commands ("node" defaults to "0"):
  {"cmd": "start", "node": "a", "port": 0, "bootstrap": [["127.0.0.1", 6881], ...], "announce_port": 0}
      -> {"event": "started", "node": "a", "port": P, "id": "<hex>"}
      Starts with the DHT off, adds the bootstrap nodes with add_dht_node, then enables the DHT (nodes listed in
      dht_bootstrap_nodes would be "routers" that never enter the routing table). add_dht_node does not retry, so
      start the bootstrap node first.
  {"cmd": "add_node", "node": "a", "host": "127.0.0.1", "port": P}            -> {"event": "node_added", ...}
  {"cmd": "nodes", "node": "a"}      -> {"event": "nodes", "node": "a", "nodes": [{"id", "host", "port"}, ...]}
  {"cmd": "stats", "node": "a"}      -> {"event": "stats", "node": "a", "buckets": [{"nodes", "replacements"}],
                                          "active_requests": N}
  {"cmd": "announce", "node": "a", "infohash": "<hex>"}
      -> {"event": "announcing", ...} now, and {"event": "dht_reply", "node", "infohash", "peers"} when libtorrent's
      announce lookup finishes having found other peers (libtorrent posts nothing when it found none, so a test
      checks that the announce landed with get_peers from another node). session.dht_announce() is not callable from the Debian binding, so this adds a
      torrent by magnet and calls force_dht_announce(); the announced port is the session's listen port (or
      "announce_port" given at start).
  {"cmd": "get_peers", "node": "a", "infohash": "<hex>", "wait": 2.0}
      -> {"event": "peer_reply", "node", "infohash", "peers": [...]} for each dht_get_peers_reply_alert, then
         {"event": "peers", "node": "a", "infohash": "<hex>", "peers": [{"host", "port"}, ...]} after "wait" seconds
         with every distinct peer seen. libtorrent posts dht_get_peers_reply_alert only for replies that carry
         values and never says when the lookup ended, hence the fixed wait.
  {"cmd": "stop", "node": "a"}       -> {"event": "stopped", "node": "a"}
  {"cmd": "quit"}
Unsolicited: {"event": "announce_in", "node", "infohash", "host", "port"} when a node stores an announce_peer;
{"event": "error", "message"} for a bad command (the process keeps running).
"""
import binascii
import os
import select
import shutil
import sys
import tempfile
import time
import warnings

from ltcommon import emit, listen_port, lt, make_session

# Kept per node: the session, its node id, and the torrents added for announces (by infohash hex).
NODES = {}
# get_peers commands still collecting replies: {node, infohash, until, peers}.
LOOKUPS = []
SAVE_DIR = tempfile.mkdtemp(prefix='lt_dht_')


def sha1(hexstr):
    raw = binascii.unhexlify(hexstr)
    if len(raw) != 20:
        raise ValueError('infohash must be 40 hex digits')
    return lt.sha1_hash(raw)


def node_id(ses, timeout=5.0):
    # dht_state() is deprecated but it is the binding's only way to read the node id; each entry is id + address.
    end = time.time() + timeout
    while time.time() < end:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ids = ses.dht_state().get(b'node-id') or []
        if ids:
            return bytes(ids[0][:20])
        time.sleep(0.02)
    raise RuntimeError('libtorrent DHT did not start')


def get(name):
    node = NODES.get(name)
    if node is None:
        raise KeyError('no node %r' % name)
    return node


def cmd_start(c):
    name = str(c.get('node', '0'))
    if name in NODES:
        raise ValueError('node %r exists' % name)
    extra = {
        # No routers: libtorrent's default list names public hosts, and tests never touch the Internet.
        'dht_bootstrap_nodes': '',
    }
    if c.get('announce_port'):
        extra['announce_port'] = int(c['announce_port'])
    ses = make_session('127.0.0.1', int(c.get('port', 0)), **extra)
    port = listen_port(ses)
    for host, p in c.get('bootstrap', []):
        ses.add_dht_node((str(host), int(p)))
    ses.apply_settings({'enable_dht': True})
    nid = node_id(ses)
    NODES[name] = {'ses': ses, 'id': nid, 'torrents': {}}
    emit('started', node=name, port=port, id=nid.hex())


def cmd_add_node(c):
    name = str(c.get('node', '0'))
    get(name)['ses'].add_dht_node((str(c['host']), int(c['port'])))
    emit('node_added', node=name, host=c['host'], port=int(c['port']))


def cmd_nodes(c):
    node = get(str(c.get('node', '0')))
    node['ses'].dht_live_nodes(lt.sha1_hash(node['id']))


def cmd_stats(c):
    get(str(c.get('node', '0')))['ses'].post_dht_stats()


def cmd_announce(c):
    name = str(c.get('node', '0'))
    node = get(name)
    ih = c['infohash'].lower()
    h = node['torrents'].get(ih)
    if h is None:
        atp = lt.parse_magnet_uri('magnet:?xt=urn:btih:%s' % ih)
        atp.save_path = os.path.join(SAVE_DIR, name)
        h = node['ses'].add_torrent(atp)
        node['torrents'][ih] = h
    h.force_dht_announce()
    emit('announcing', node=name, infohash=ih)


def cmd_get_peers(c):
    name = str(c.get('node', '0'))
    node = get(name)
    ih = c['infohash'].lower()
    node['ses'].dht_get_peers(sha1(ih))
    LOOKUPS.append({'node': name, 'infohash': ih, 'until': time.time() + float(c.get('wait', 2.0)), 'peers': []})


def finish_lookups(now):
    for lk in [x for x in LOOKUPS if x['until'] <= now]:
        LOOKUPS.remove(lk)
        emit('peers', node=lk['node'], infohash=lk['infohash'], peers=lk['peers'])


def cmd_stop(c):
    name = str(c.get('node', '0'))
    node = NODES.pop(name, None)
    if node is not None:
        node['ses'].apply_settings({'enable_dht': False})
        del node['ses']
    emit('stopped', node=name)


COMMANDS = {
    'start': cmd_start,
    'add_node': cmd_add_node,
    'nodes': cmd_nodes,
    'stats': cmd_stats,
    'announce': cmd_announce,
    'get_peers': cmd_get_peers,
    'stop': cmd_stop,
}


def endpoint(ep):
    return {'host': str(ep[0]), 'port': int(ep[1])}


def on_alert(name, node, a):
    if isinstance(a, lt.dht_live_nodes_alert):
        nodes = [dict(id=str(n['nid']), **endpoint(n['endpoint'])) for n in a.nodes]
        emit('nodes', node=name, nodes=nodes)
    elif isinstance(a, lt.dht_stats_alert):
        buckets = [{'nodes': b['num_nodes'], 'replacements': b['num_replacements']} for b in a.routing_table]
        emit('stats', node=name, buckets=buckets, active_requests=len(a.active_requests))
    elif isinstance(a, lt.dht_get_peers_reply_alert):
        ih = str(a.info_hash)
        peers = [endpoint(p) for p in a.peers()]
        emit('peer_reply', node=name, infohash=ih, peers=peers)
        for lk in LOOKUPS:
            if lk['node'] == name and lk['infohash'] == ih:
                lk['peers'].extend(p for p in peers if p not in lk['peers'])
    elif isinstance(a, lt.dht_reply_alert):
        ih = next((k for k, h in node['torrents'].items() if h == a.handle), None)
        emit('dht_reply', node=name, infohash=ih, peers=a.num_peers)
    elif isinstance(a, lt.dht_announce_alert):
        emit('announce_in', node=name, infohash=str(a.info_hash), host=str(a.ip), port=int(a.port))


def handle_line(line):
    import json

    try:
        c = json.loads(line)
        fn = COMMANDS.get(c.get('cmd'))
        if c.get('cmd') == 'quit':
            return False
        if fn is None:
            raise ValueError('unknown command %r' % c.get('cmd'))
        fn(c)
    except Exception as e:  # a bad command is reported, never fatal
        emit('error', message='%s: %s' % (type(e).__name__, e), line=line)
    return True


def main():
    fd = sys.stdin.fileno()
    buf = b''
    running = True
    while running:
        readable, _, _ = select.select([fd], [], [], 0.02)
        if readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf and running:
                line, buf = buf.split(b'\n', 1)
                if line.strip():
                    running = handle_line(line.decode('utf-8'))
        for name, node in list(NODES.items()):
            for a in node['ses'].pop_alerts():
                try:
                    on_alert(name, node, a)
                except Exception as e:  # never let one odd alert kill every node
                    emit('error', node=name, message='%s on %s: %s' % (type(e).__name__, a.what(), e))
        finish_lookups(time.time())
    for name in list(NODES):
        NODES.pop(name)['ses'].apply_settings({'enable_dht': False})
    shutil.rmtree(SAVE_DIR, ignore_errors=True)


if __name__ == '__main__':
    main()
