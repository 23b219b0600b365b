# A minimal STUN (RFC 5389) Binding responder for the port-mapping lab. miniupnpd refuses to map ports when its
# WAN address is reserved (the lab's 198.51.100.0/24 is a documentation range) unless a STUN check says the
# address is reachable: this answers every Binding request with XOR-MAPPED-ADDRESS, from the address it was
# sent to (CHANGE-REQUEST is ignored, which miniupnpd 2.3 accepts). Usage: stun-responder.py HOST PORT
import socket
import struct
import sys

MAGIC = 0x2112A442
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print('{"event": "ready"}', flush=True)
while True:
    data, (ip, port) = s.recvfrom(2048)
    if len(data) < 20 or data[0:2] != b"\x00\x01" or struct.unpack("!I", data[4:8])[0] != MAGIC:
        continue
    xip = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, port ^ (MAGIC >> 16), xip)
    s.sendto(struct.pack("!HHI", 0x0101, len(attr), MAGIC) + data[8:20] + attr, (ip, port))
