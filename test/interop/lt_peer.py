"""libtorrent peers for the peer-wire interop tests (Debian python3-libtorrent 2.0.x; run with /usr/bin/python3).

One process holds any number of named sessions, each with one magnet torrent (no metadata needed for the
handshake, PEX and holepunch). JSON lines in on stdin, JSON lines out on stdout (see ltcommon.emit):

  {"cmd":"start","name":N,"infohash":HEX,"settings":{...}}  -> {"event":"started","name":N,"port":P}
  {"cmd":"connect","name":N,"host":H,"port":P}               (torrent_handle.connect_peer)
  {"cmd":"peers","name":N}                                  -> {"event":"peers","name":N,"peers":[...]}
  {"cmd":"quit"}

Alerts come out as {"event":"alert","name":N,"type":T,"msg":M}; peer-log lines only for the messages the tests
watch (HOLEPUNCH, PEX, EXTENDED, HANDSHAKE, CONNECT, DISCONNECT, uTP).
"""
import time

import libtorrent as lt
from ltcommon import emit, exit_now, listen_port, make_session, serve

sessions = {}
NOISY = {'log_alert', 'torrent_log_alert', 'picker_log_alert', 'dht_log_alert', 'stats_alert',
         'state_update_alert', 'session_stats_alert', 'block_timeout_alert', 'portmap_log_alert'}
WATCH = ('HOLEPUNCH', 'PEX', 'EXTENDED', 'HANDSHAKE', 'CONNECT', 'DISCONNECT', 'uTP', 'UTP')


def start(cmd):
    name = cmd['name']
    extra = {'close_redundant_connections': False}
    extra.update(cmd.get('settings') or {})
    ses = make_session('127.0.0.1', int(cmd.get('port', 0)), **extra)
    p = lt.parse_magnet_uri('magnet:?xt=urn:btih:' + cmd['infohash'])
    p.save_path = cmd.get('save_path', '/tmp/mainline-lt-peer')
    h = ses.add_torrent(p)
    sessions[name] = (ses, h)
    port = listen_port(ses)
    # A peer connecting before the torrent is resumed (a tick after add_torrent) is dropped unannounced: wait.
    end = time.time() + 10
    while time.time() < end and not any(e.get('type') == 'torrent_resumed_alert' for e in pump(name)):
        time.sleep(0.02)
    emit('started', name=name, port=port)


def peers(cmd):
    ses, h = sessions[cmd['name']]
    out = []
    for pi in h.get_peer_info():
        out.append({
            'host': pi.ip[0], 'port': pi.ip[1],
            'local': [pi.local_endpoint[0], pi.local_endpoint[1]],
            'client': pi.client.decode('latin1') if isinstance(pi.client, bytes) else str(pi.client),
            'pid': str(pi.pid),
            'flags': int(pi.flags), 'source': int(pi.source),
            'holepunched': bool(int(pi.flags) & int(lt.peer_info.holepunched)),
            'outgoing': bool(int(pi.flags) & int(lt.peer_info.outgoing_connection)),
        })
    emit('peers', name=cmd['name'], peers=out)


def handle(cmd):
    c = cmd.get('cmd')
    if c == 'start':
        start(cmd)
    elif c == 'connect':
        sessions[cmd['name']][1].connect_peer((cmd['host'], int(cmd['port'])))
    elif c == 'peers':
        peers(cmd)
    elif c == 'quit':
        exit_now()
    else:
        emit('error', message='unknown command %r' % c)


def pump(only=None):
    out = []
    for name, (ses, _h) in sessions.items():
        if only is not None and name != only:
            continue
        for a in ses.pop_alerts():
            t = type(a).__name__
            if t in NOISY:
                continue
            msg = a.message()
            if t == 'peer_log_alert' and not any(w in msg for w in WATCH):
                continue
            e = {'name': name, 'type': t, 'msg': msg[:600]}
            emit('alert', **e)
            out.append(e)
    return out


def main():
    serve(handle, pump)


if __name__ == '__main__':
    main()
