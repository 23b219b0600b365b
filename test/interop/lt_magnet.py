"""libtorrent seeders and magnet fetchers for the BEP 9 interop tests and the metadata bench (run with /usr/bin/python3,
Debian python3-libtorrent 2.0.x). Loopback only: no LSD/UPnP/NAT-PMP, no public DHT routers (ltcommon).

One process holds any number of named sessions. JSON lines in on stdin, JSON lines out on stdout:

  {"cmd":"seed","name":N,"torrent":PATH,"save_path":DIR,"transport":"tcp"|"utp"|"both",
   "dht":[[host,port],...], "recheck":true}
      Adds the .torrent (with its data in save_path when there is some: "recheck" waits for the hash check to end)
      -> {"event":"seeding","name":N,"port":P,"v1":HEX,"v2":HEX,"seeding":bool,"pieces":K}
      With "dht", the DHT is bootstrapped from those nodes only and the torrent announced there
      (force_dht_announce, again on each "announce" command). A torrent without its data still serves its metadata.
  {"cmd":"announce","name":N}            force_dht_announce again -> {"event":"announcing","name":N}
  {"cmd":"fetch","name":N,"magnet":URI,"transport":...,"dht":[[h,p]],"peers":[[h,p]]}
      Adds the magnet link (its x.pe peers, plus "peers" through connect_peer) and reports
      -> {"event":"fetching","name":N,"port":P} at once, then
      -> {"event":"metadata","name":N,"v1":HEX,"v2":HEX,"elapsed_ms":T,"size":BYTES,"name_in_info":S}
      on metadata_received_alert (T from add_torrent; "connected_ms" when the first peer_connect_alert came), after which the torrent is removed (no data is fetched).
  {"cmd":"stop","name":N}                -> {"event":"stopped","name":N}
  {"cmd":"quit"}                          (also stdin EOF)

Alerts a test may want come out as {"event":"alert","name":N,"type":T,"msg":M} (errors, peer connects and
disconnects, metadata failures), never the noisy ones.

"transport" forces one of libtorrent's transports for incoming and outgoing peer connections:
"tcp" turns uTP off both ways, "utp" turns TCP off both ways; the DHT (UDP) works either way.
"""
import os
import shutil
import tempfile
import time

from ltcommon import emit, exit_now, listen_port, lt, make_session, serve

SESSIONS = {}  # name -> {ses, h, kind, started, done}
SAVE_DIR = tempfile.mkdtemp(prefix='lt_magnet_')
SHOWN = {'peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert', 'metadata_failed_alert',
         'torrent_error_alert', 'listen_failed_alert', 'incoming_connection_alert', 'metadata_received_alert',
         'dht_bootstrap_alert', 'dht_reply_alert'}


def transport_settings(t):
    if t == 'tcp':
        return {'enable_outgoing_utp': False, 'enable_incoming_utp': False}
    if t == 'utp':
        return {'enable_outgoing_tcp': False, 'enable_incoming_tcp': False}
    return {}


def session(cmd):
    extra = {'close_redundant_connections': False, 'max_metadata_size': 64 * 1024 * 1024}
    extra.update(transport_settings(cmd.get('transport', 'both')))
    extra.update(cmd.get('settings') or {})
    ses = make_session('127.0.0.1', int(cmd.get('port', 0)), **extra)
    dht = cmd.get('dht') or []
    if dht:
        # As lt_dht.py: nodes given through add_dht_node with the DHT off enter the routing table (routers would not).
        for host, port in dht:
            ses.add_dht_node((host, int(port)))
        ses.apply_settings({'enable_dht': True})
    return ses


def hashes(ih):
    out = {}
    if ih.has_v1():
        out['v1'] = str(ih.v1)
    if ih.has_v2():
        out['v2'] = str(ih.v2)
    return out


def seed(cmd):
    name = cmd['name']
    ses = session(cmd)
    save = cmd.get('save_path') or os.path.join(SAVE_DIR, name)
    os.makedirs(save, exist_ok=True)
    ti = lt.torrent_info(cmd['torrent'])
    h = ses.add_torrent({'ti': ti, 'save_path': save})
    SESSIONS[name] = {'ses': ses, 'h': h, 'kind': 'seed', 'started': time.time(), 'done': True}
    port = listen_port(ses)
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    if cmd.get('recheck'):
        h.force_recheck()
    # Wait for the check (if any) to end and the torrent to be resumed: a peer connecting before is dropped.
    end = time.time() + 120
    st = h.status()
    while time.time() < end:
        pump(name)
        st = h.status()
        if st.state not in checking and not st.paused and time.time() > SESSIONS[name]['started'] + 0.2:
            break
        time.sleep(0.02)
    if cmd.get('dht'):
        h.force_dht_announce()
    emit('seeding', name=name, port=port, seeding=st.state == lt.torrent_status.seeding, pieces=st.num_pieces,
         **hashes(ti.info_hashes()))


def fetch(cmd):
    name = cmd['name']
    ses = session(cmd)
    p = lt.parse_magnet_uri(cmd['magnet'])
    p.save_path = os.path.join(SAVE_DIR, name)
    started = time.time()
    h = ses.add_torrent(p)
    SESSIONS[name] = {'ses': ses, 'h': h, 'kind': 'fetch', 'started': started, 'done': False}
    for host, port in cmd.get('peers') or []:
        h.connect_peer((host, int(port)))
    emit('fetching', name=name, port=listen_port(ses))


def on_alert(name, s, a):
    t = type(a).__name__
    if t == 'peer_connect_alert' and s['kind'] == 'fetch' and 'connected' not in s:
        s['connected'] = time.time()
    if t == 'metadata_received_alert' and s['kind'] == 'fetch' and not s['done']:
        s['done'] = True
        elapsed = (time.time() - s['started']) * 1000
        ti = a.handle.torrent_file()
        connected = s.get('connected')
        emit('metadata', name=name, elapsed_ms=round(elapsed, 1),
             connected_ms=round((connected - s['started']) * 1000, 1) if connected else None, size=len(ti.info_section()), name_in_info=ti.name(),
             **hashes(ti.info_hashes()))
        # Metadata only: no data is wanted.
        s['ses'].remove_torrent(a.handle)
    if t in SHOWN:
        emit('alert', name=name, type=t, msg=a.message()[:600])


def pump(only=None):
    for name, s in list(SESSIONS.items()):
        if only is not None and name != only:
            continue
        for a in s['ses'].pop_alerts():
            on_alert(name, s, a)


def handle(cmd):
    c = cmd.get('cmd')
    if c == 'seed':
        seed(cmd)
    elif c == 'fetch':
        fetch(cmd)
    elif c == 'announce':
        SESSIONS[cmd['name']]['h'].force_dht_announce()
        emit('announcing', name=cmd['name'])
    elif c == 'stop':
        s = SESSIONS.pop(cmd['name'], None)
        if s:
            s['ses'].pause()
        emit('stopped', name=cmd['name'])
    elif c == 'quit':
        shutil.rmtree(SAVE_DIR, ignore_errors=True)
        exit_now()
    else:
        emit('error', message='unknown command %r' % c)


def busy_timeout():
    # A fetch in flight is timed: look at its alerts every 2 ms; otherwise every 20 ms.
    busy = any(x['kind'] == 'fetch' and not x['done'] for x in SESSIONS.values())
    return 0.002 if busy else 0.02


def main():
    serve(handle, pump, busy_timeout)
    shutil.rmtree(SAVE_DIR, ignore_errors=True)
    exit_now()


if __name__ == '__main__':
    main()
