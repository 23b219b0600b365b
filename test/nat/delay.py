"""A userspace delay line for the NAT lab (Python standard library only; run with /usr/bin/python3).

This kernel has no sch_netem (no `tc qdisc ... netem`) and no nft `queue` statement, so delay is added here: for
each pair of interfaces given as --pair X:Y, every frame that arrives on X is sent out of Y --ms milliseconds
later, and every frame that arrives on Y is sent out of X. The lab cuts a host's veth out of the public bridge and
puts this process between the two (test/nat/delay.ts).

AF_PACKET sockets with PACKET_VNET_HDR: each frame comes with the kernel's virtio-net header (checksum-offload and
GSO state) and is sent again with it, so frames whose checksum the sending veth left to "hardware", and TSO
super-frames, leave exactly as they would have without us. Frames we sent ourselves (PACKET_OUTGOING) are skipped.
Prints {"event":"ready"} once every socket is bound, then runs until killed.
"""
import argparse
import heapq
import json
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
MAX_FRAME = 65536 + 64


def open_port(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((iface, ETH_P_ALL))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pair', action='append', required=True, help='X:Y, two interfaces to join with a delay')
    ap.add_argument('--ms', type=float, required=True, help='one-way delay in each direction')
    args = ap.parse_args()
    delay = args.ms / 1000.0

    other = {}  # socket -> the socket its frames leave by
    for pair in args.pair:
        x, _, y = pair.partition(':')
        sx, sy = open_port(x), open_port(y)
        other[sx] = sy
        other[sy] = sx
    socks = list(other)
    sys.stdout.write(json.dumps({'event': 'ready', 'pairs': args.pair, 'ms': args.ms}) + '\n')
    sys.stdout.flush()

    due = []  # (time to send, sequence, socket, frame): the sequence keeps order among equal times
    seq = 0
    while True:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, out, frame = heapq.heappop(due)
            try:
                out.send(frame)
            except OSError:
                pass  # a full queue or a vanished link drops the frame, as a real link would
        timeout = max(0.0, due[0][0] - now) if due else None
        ready, _, _ = select.select(socks, [], [], timeout)
        now = time.monotonic()
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                seq += 1
                heapq.heappush(due, (now + delay, seq, other[s], frame))


if __name__ == '__main__':
    main()
