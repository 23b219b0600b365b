"""IPv4 conntrack table of the network namespace it runs in, over ctnetlink, with the standard library only.

    python3 conntrack.py list    one JSON object per entry:
                                 {"proto": 17, "orig": {"src", "dst", "sport", "dport"}, "reply": {...},
                                  "timeout": seconds, "seen_reply": bool}
    python3 conntrack.py flush   empties the table (IPCTNL_MSG_CT_DELETE without a tuple)

Why not the `conntrack` tool: it is often not installed. Why not /proc/net/nf_conntrack: it needs
CONFIG_NF_CONNTRACK_PROCFS. `nft flush ruleset` does not touch conntrack at all.
"""
import json
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE = 1, 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_TIMEOUT = 1, 2, 3, 7
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
IPS_SEEN_REPLY = 1 << 1


def request(sock, msg_type, flags):
    body = struct.pack("BBH", socket.AF_INET, 0, 0)  # nfgenmsg: family, version, res_id
    header = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_CTNETLINK << 8) | msg_type, flags, 1, 0)
    sock.send(header + body)


def messages(sock):
    """Yields (type, payload) for every netlink message until DONE or an ACK/error."""
    while True:
        data = sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            length, msg_type, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
            if length < 16:
                return
            payload = data[off + 16 : off + length]
            off += (length + 3) & ~3
            if msg_type == NLMSG_DONE:
                return
            if msg_type == NLMSG_ERROR:
                errno = -struct.unpack_from("=i", payload)[0]
                if errno:
                    raise OSError(errno, "ctnetlink error")
                return
            yield msg_type, payload


def attrs(buf):
    """Netlink attributes of `buf` as {type: bytes} (nested/byte-order flag bits masked off)."""
    out = {}
    off = 0
    while off + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, off)
        if length < 4:
            break
        out[kind & 0x3FFF] = buf[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


def tuple_of(buf):
    t = attrs(buf)
    ip = attrs(t.get(CTA_TUPLE_IP, b""))
    proto = attrs(t.get(CTA_TUPLE_PROTO, b""))
    port = lambda k: struct.unpack(">H", proto[k])[0] if k in proto else None  # noqa: E731
    addr = lambda k: socket.inet_ntoa(ip[k]) if k in ip else None  # noqa: E731
    return {
        "src": addr(CTA_IP_V4_SRC),
        "dst": addr(CTA_IP_V4_DST),
        "sport": port(CTA_PROTO_SRC_PORT),
        "dport": port(CTA_PROTO_DST_PORT),
    }, (proto[CTA_PROTO_NUM][0] if CTA_PROTO_NUM in proto else None)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    if cmd == "flush":
        request(sock, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK)
        for _ in messages(sock):
            pass
        return 0
    if cmd == "list":
        request(sock, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP)
        for _type, payload in messages(sock):
            a = attrs(payload[4:])  # after nfgenmsg
            orig, proto = tuple_of(a.get(CTA_TUPLE_ORIG, b""))
            reply, _ = tuple_of(a.get(CTA_TUPLE_REPLY, b""))
            status = struct.unpack(">I", a[CTA_STATUS])[0] if CTA_STATUS in a else 0
            timeout = struct.unpack(">I", a[CTA_TIMEOUT])[0] if CTA_TIMEOUT in a else None
            entry = {"proto": proto, "orig": orig, "reply": reply, "timeout": timeout,
                     "seen_reply": bool(status & IPS_SEEN_REPLY)}
            print(json.dumps(entry))
        return 0
    sys.stderr.write("usage: conntrack.py list|flush\n")
    return 64


if __name__ == "__main__":
    sys.exit(main())
