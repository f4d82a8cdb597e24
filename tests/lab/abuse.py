#!/usr/bin/env python3
"""abuse.py: the attacks of tests/lab/check-abuse, one subcommand each.

Every subcommand runs in the lab namespace the test puts it in, talks only
to the addresses it is given (lab addresses), is bounded in count and in
time, and prints one JSON object (its findings) on stdout.  Exit status 0
unless it could not run at all (bad arguments, no connection at all).

Control port (TCP 18461, TLS 1.3):
  garbage DST PORT SRC N         N connections, each sending bytes that are
                                 no TLS handshake (random, plain text, an
                                 application-data record, a record longer
                                 than TLS allows); how many popd closed by
                                 itself within 3 s
  truncated DST PORT SRC N SECS  N connections, each sending the first half
                                 of a real ClientHello record and nothing
                                 more; waits up to SECS for popd to close them
  slow DST PORT SRC N EVERY SECS N connections trickling a real ClientHello,
                                 one byte per connection every EVERY s, for
                                 SECS; when popd closed each
  halfopen DST PORT SRC N HOLD   N TCP connections that never send, held
                                 HOLD s
  frames DST PORT SRC CERTDIR    authenticated (CERTDIR/unknown.pem, the
                                 abuser site): frames over the size limit
                                 and of unknown type; was each closed
  noread DST PORT SRC CERTDIR MB HOLD READY
                                 HELLO, then MB MiB of KEEPALIVEs while never
                                 reading (tiny receive buffer); touches READY
                                 and holds the connection HOLD s
  many DST PORT SRC CERTDIR N HOLD READY
                                 N connections, each logging in (HELLO,
                                 WELCOME); touches READY and holds them all
                                 HOLD s
  linkflap DST PORT SRC CERTDIR N
                                 HELLO, then N LINK_STATE frames flapping
                                 the site's link, then a KEEPALIVE whose
                                 answer says popd got through them
  reassign DST PORT SRC CERTDIR N SMALL
                                 HELLO, then a failover of N REASSIGN chunks
                                 of 4096 moves, then SMALL failovers of 16
                                 moves each, back to back
Data plane (UDP 18460):
  capture IFACE OUT TYPE MINLEN SECS
                                 AF_PACKET: the first received datagram to
                                 port 18460 of wire type TYPE (1 data, 2
                                 probe) and UDP payload >= MINLEN bytes;
                                 saves source, ports and payload to OUT
  inject CAPFILE DST HOW N [PPS] the capture, N times, from its own source
                                 address and port (raw socket, IP_HDRINCL):
                                 HOW = forge (tag bytes flipped, a fresh
                                 counter each), replay (as captured), badlink
                                 (a link id the session does not have)
  hashflood SRCNET DST N PPS     N IPv6 UDP datagrams to DST, one new flow
                                 each, whose flow keys all hash alike under
                                 the old wp_hash64 (see below)
Helpers:
  get FILE PATH                  a value from a JSON file: dotted PATH,
                                 "sites[NAME]" selects by name; prints it,
                                 or exits 1 if absent
"""
import errno
import json
import os
import random
import resource
import select
import socket
import ssl
import struct
import sys
import time

CTL_HELLO, CTL_WELCOME, CTL_KEEPALIVE, CTL_LINK_STATE, CTL_REASSIGN = 1, 2, 3, 4, 5
CTL_BYE = 7
CTL_MAX_BODY = 1024 * 1024
ABUSER_SITE = "abuser"
ABUSER_LAN = "10.2.0.0/24"


def out(obj):
    print(json.dumps(obj, sort_keys=True))
    sys.stdout.flush()


def tcp(src, dst, port, timeout=3.0, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((dst, port))
    return s


def closed_within(s, secs):
    """Seconds until the peer closed s (EOF or reset), or None."""
    t0 = time.monotonic()
    end = t0 + secs
    s.setblocking(False)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], min(left, 0.2))
        if not r:
            continue
        try:
            d = s.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            continue
        except (ConnectionError, OSError, ssl.SSLError):
            return time.monotonic() - t0
        if not d:
            return time.monotonic() - t0


def client_hello():
    """The bytes of a real TLS 1.3 ClientHello (one record)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="pop.lab")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


# -- control port, before TLS -------------------------------------------

def garbage(dst, port, src, n):
    port, n = int(port), int(n)
    kinds = [
        lambda: os.urandom(64),
        lambda: b"GET / HTTP/1.0\r\nHost: pop.lab\r\n\r\n",
        # application data before any handshake
        lambda: b"\x17\x03\x03\x00\x20" + os.urandom(32),
        # a handshake record longer than TLS allows (2^14 + 256)
        lambda: b"\x16\x03\x01\xff\xff" + os.urandom(200),
        # an alert, then junk
        lambda: b"\x15\x03\x03\x00\x02\x02\x28" + os.urandom(16),
    ]
    closed, times, failed = 0, [], 0
    for i in range(n):
        try:
            s = tcp(src, dst, port)
            s.sendall(kinds[i % len(kinds)]())
        except OSError:
            failed += 1
            continue
        t = closed_within(s, 3.0)
        s.close()
        if t is not None:
            closed += 1
            times.append(t)
    out({"sent": n, "connect_failed": failed, "closed_by_popd": closed,
         "max_close_s": round(max(times), 3) if times else None})


def hold_and_watch(socks, secs, trickle=None, every=0.0):
    """Waits up to secs; returns {fileno: seconds until popd closed it}.
    With trickle, sends trickle(sock) every `every` seconds meanwhile."""
    t0 = time.monotonic()
    end = t0 + secs
    live = {s.fileno(): s for s in socks}
    closed = {}
    nxt = t0 + every if trickle else end + 1
    p = select.poll()
    for s in socks:
        s.setblocking(False)
        p.register(s, select.POLLIN)
    while live and time.monotonic() < end:
        now = time.monotonic()
        if trickle and now >= nxt:
            for fd, s in list(live.items()):
                try:
                    trickle(s)
                except OSError:
                    closed[fd] = now - t0
                    del live[fd]
                    p.unregister(fd)
            nxt = now + every
        timeout = max(0.0, min(end, nxt, now + 0.2) - time.monotonic())
        for fd, ev in p.poll(timeout * 1000):
            s = live.get(fd)
            if s is None:
                continue
            try:
                d = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                closed[fd] = time.monotonic() - t0
                del live[fd]
                p.unregister(fd)
    return closed


def truncated(dst, port, src, n, secs):
    port, n, secs = int(port), int(n), float(secs)
    ch = client_hello()
    half = ch[:len(ch) // 2]
    socks = []
    for _ in range(n):
        try:
            s = tcp(src, dst, port)
            s.sendall(half)
            socks.append(s)
        except OSError:
            pass
    closed = hold_and_watch(socks, secs)
    for s in socks:
        s.close()
    out({"sent": n, "connected": len(socks), "closed_by_popd": len(closed),
         "max_close_s": round(max(closed.values()), 1) if closed else None})


def slow(dst, port, src, n, every, secs):
    port, n, every, secs = int(port), int(n), float(every), float(secs)
    ch = client_hello()
    pos = {}
    socks = []
    for _ in range(n):
        try:
            s = tcp(src, dst, port)
        except OSError:
            continue
        s.send(ch[:1])
        pos[s.fileno()] = 1
        socks.append(s)

    def trickle(s):
        i = pos[s.fileno()]
        if i < len(ch) - 1:     # never the last byte: never complete
            s.send(ch[i:i + 1])
            pos[s.fileno()] = i + 1
    closed = hold_and_watch(socks, secs, trickle, every)
    fast = sum(1 for t in closed.values() if t < 1.0)
    for s in socks:
        s.close()
    out({"sent": n, "connected": len(socks), "closed_by_popd": len(closed),
         "closed_within_1s": fast, "open_at_end": len(socks) - len(closed),
         "max_close_s": round(max(closed.values()), 1) if closed else None})


def halfopen(dst, port, src, n, hold):
    port, n, hold = int(port), int(n), float(hold)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if hard != resource.RLIM_INFINITY and hard < want:
        hard = want             # root may raise it (up to fs.nr_open)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        err = s.connect_ex((dst, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            continue
        socks.append(s)
    # wait (bounded) for the handshakes
    pend = {s.fileno(): s for s in socks}
    end = time.monotonic() + 5
    connected = 0
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLOUT)
    while pend and time.monotonic() < end:
        for fd, ev in p.poll(200):
            if fd in pend:
                s = pend.pop(fd)
                p.unregister(fd)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected += 1
    t_conn = time.monotonic() - t0
    closed = hold_and_watch(socks, hold)
    for s in socks:
        s.close()
    out({"sent": n, "connected": connected, "connect_s": round(t_conn, 2),
         "closed_by_popd": len(closed),
         "closed_within_1s": sum(1 for t in closed.values() if t < 1.0)})


# -- control port, with the abuser site's certificate -------------------

def frame(t, body):
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":")).encode()
    return struct.pack("!IB", len(body), t) + body


def tls(src, dst, port, certdir, rcvbuf=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(os.path.join(certdir, "ca.pem"))
    ctx.load_cert_chain(os.path.join(certdir, "unknown.pem"),
                        os.path.join(certdir, "unknown.key"))
    s = tcp(src, dst, int(port), 5.0, rcvbuf)
    return ctx.wrap_socket(s, server_hostname="pop.lab")


HELLO = frame(CTL_HELLO, {
    "version": 2, "workers": 1, "site": ABUSER_SITE,
    "links": [{"name": "A1", "id": 0, "up_mbps": 10, "down_mbps": 10}],
    "lan": [ABUSER_LAN]})
KEEPALIVE = frame(CTL_KEEPALIVE, {})


def read_frame(s, secs=3.0):
    """(type, body) of the next frame, or None on close/timeout."""
    s.settimeout(secs)
    buf = b""
    try:
        while len(buf) < 5:
            d = s.recv(5 - len(buf))
            if not d:
                return None
            buf += d
        n, t = struct.unpack("!IB", buf)
        body = b""
        while len(body) < n:
            d = s.recv(min(65536, n - len(body)))
            if not d:
                return None
            body += d
        return t, body
    except (OSError, ssl.SSLError):
        return None


def login(src, dst, port, certdir, rcvbuf=None):
    s = tls(src, dst, port, certdir, rcvbuf)
    s.sendall(HELLO)
    f = read_frame(s, 5.0)
    if f is None or f[0] != CTL_WELCOME:
        s.close()
        raise OSError("no WELCOME: %r" % (f,))
    return s


def wait_bye(s, secs=3.0):
    """Reads until close: (closed?, BYE reason or None)."""
    end = time.monotonic() + secs
    reason = None
    while time.monotonic() < end:
        f = read_frame(s, max(0.1, end - time.monotonic()))
        if f is None:
            break
        if f[0] == CTL_BYE:
            try:
                reason = json.loads(f[1]).get("reason")
            except ValueError:
                reason = "?"
    # closed if the next read says so
    try:
        s.settimeout(0.5)
        closed = s.recv(1) == b""
    except (OSError, ssl.SSLError):
        closed = True
    return closed, reason


def frames(dst, port, src, certdir):
    cases = [
        ("length 2^31 (over 1 MiB)", False,
         struct.pack("!IB", 0x7fffffff, CTL_HELLO)),
        ("length 1 MiB + 1", False,
         struct.pack("!IB", CTL_MAX_BODY + 1, CTL_HELLO) + b"{" * 1024),
        ("unknown type 99", False, frame(99, {})),
        ("unknown type 0", False, frame(0, {})),
        ("WELCOME, a type the PoP never takes", False,
         frame(CTL_WELCOME, {})),
        ("after HELLO: length 4 GiB - 1", True,
         struct.pack("!IB", 0xffffffff, CTL_KEEPALIVE)),
        ("after HELLO: unknown type 200", True, frame(200, {"x": 1})),
    ]
    res = []
    for name, hello, data in cases:
        try:
            s = login(src, dst, port, certdir) if hello else \
                tls(src, dst, port, certdir)
            s.sendall(data)
            closed, reason = wait_bye(s)
            s.close()
        except OSError as e:
            closed, reason = None, "error: %s" % e
        res.append({"case": name, "closed": closed, "bye": reason})
    out({"cases": res, "closed": sum(1 for r in res if r["closed"]),
         "total": len(res)})


def noread(dst, port, src, certdir, mb, hold, ready):
    mb, hold = float(mb), float(hold)
    s = login(src, dst, port, certdir, rcvbuf=4096)
    chunk = KEEPALIVE * 8192            # 56 KiB
    total = int(mb * 1024 * 1024)
    sent, err = 0, None
    s.settimeout(10.0)
    t0 = time.monotonic()
    while sent < total and time.monotonic() - t0 < 30:
        try:
            s.sendall(chunk)
            sent += len(chunk)
        except (OSError, ssl.SSLError) as e:
            err = str(e) or type(e).__name__
            break
    t_send = time.monotonic() - t0
    open(ready, "w").close()
    # never read; popd may close meanwhile (seen by a later send)
    end = time.monotonic() + hold
    while err is None and time.monotonic() < end:
        time.sleep(0.5)
        try:
            s.settimeout(1.0)
            s.sendall(KEEPALIVE)
        except (OSError, ssl.SSLError) as e:
            err = str(e) or type(e).__name__
    s.close()
    out({"sent_bytes": sent, "keepalives": sent // len(KEEPALIVE),
         "send_s": round(t_send, 2), "send_error": err})


def many(dst, port, src, certdir, n, hold, ready):
    n, hold = int(n), float(hold)
    socks, failed = [], 0
    for _ in range(n):
        try:
            socks.append(login(src, dst, port, certdir))
        except (OSError, ssl.SSLError):
            failed += 1
    open(ready, "w").close()
    raw = []
    for s in socks:
        raw.append(s)
    closed = hold_and_watch(raw, hold)
    for s in socks:
        s.close()
    out({"tried": n, "welcomed": len(socks), "failed": failed,
         "closed_by_popd": len(closed)})


def linkflap(dst, port, src, certdir, n):
    n = int(n)
    s = login(src, dst, port, certdir)
    data = b"".join(frame(CTL_LINK_STATE, {"link": 0, "up": i % 2 == 1,
                                            "rtt_us": 1000, "loss_ppm": 0})
                    for i in range(n))     # ends "up"
    t0 = time.monotonic()
    err = None
    try:
        s.settimeout(20.0)
        s.sendall(data + KEEPALIVE)
    except (OSError, ssl.SSLError) as e:
        err = str(e) or type(e).__name__
    got = None
    end = time.monotonic() + 20
    while err is None and time.monotonic() < end:
        f = read_frame(s, max(0.1, end - time.monotonic()))
        if f is None or f[0] in (CTL_KEEPALIVE, CTL_BYE):
            got = f
            break
    s.close()
    out({"frames": n, "bytes": len(data), "send_error": err,
         "answer": None if got is None else
         ("keepalive" if got[0] == CTL_KEEPALIVE else
          "bye: %s" % got[1].decode(errors="replace")),
         "seconds": round(time.monotonic() - t0, 2)})


def reassign(dst, port, src, certdir, n, small):
    """n chunks of 4096 moves (one failover of n * 4096 flows), then
    `small` one-chunk failovers of 16 moves each: thousands of failovers
    a second, which no link does."""
    n, small = int(n), int(small)
    s = login(src, dst, port, certdir)
    # the link up first, or every move to it is refused
    chunks = [frame(CTL_LINK_STATE, {"link": 0, "up": True, "rtt_us": 1000,
                                     "loss_ppm": 0})]
    k = 0

    def move(k):
        return ["10.2.0.%d" % (k & 255), 1024 + (k >> 8) % 60000,
                "203.0.113.%d" % (1 + (k >> 16) % 250), 443, 6, 0]
    for seq in range(n):
        moves = [move(k + i) for i in range(4096)]
        k += 4096
        chunks.append(frame(CTL_REASSIGN, {
            "seq": seq, "last": seq == n - 1, "total": n * 4096,
            "moves": moves}))
    for i in range(small):
        chunks.append(frame(CTL_REASSIGN, {
            "seq": 0, "last": True, "total": 16,
            "moves": [move(k + j) for j in range(16)]}))
        k += 16
    data = b"".join(chunks)
    t0 = time.monotonic()
    err = None
    acks, bye = 0, None
    s.settimeout(30.0)
    # popd answers every chunk: read its ACKs while sending, or both
    # sides' buffers could fill and stall the flood
    s.setblocking(False)
    off = 0
    end = time.monotonic() + 30
    done = False
    buf = b""
    while time.monotonic() < end and not done:
        w = [s] if off < len(data) else []
        r, w, _ = select.select([s], w, [], 0.5)
        if w:
            try:
                off += s.send(data[off:off + 65536])
                if off >= len(data):
                    s.send(KEEPALIVE)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            except (OSError, ssl.SSLError) as e:
                err = str(e) or type(e).__name__
                break
        if r or s.pending():
            try:
                d = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (OSError, ssl.SSLError) as e:
                err = str(e) or type(e).__name__
                break
            if not d:
                break
            buf += d
            while len(buf) >= 5:
                ln, t = struct.unpack("!IB", buf[:5])
                if len(buf) < 5 + ln:
                    break
                body, buf = buf[5:5 + ln], buf[5 + ln:]
                if t == 8:
                    acks += 1
                elif t == CTL_BYE:
                    bye = body.decode(errors="replace")
                    done = True
                elif t == CTL_KEEPALIVE:
                    done = True
    s.close()
    out({"chunks": n, "small": small, "moves": k, "bytes": len(data),
         "sent_bytes": off, "send_error": err, "acks": acks, "bye": bye,
         "seconds": round(time.monotonic() - t0, 2)})


# -- data plane ---------------------------------------------------------

def capture(iface, path, wtype, minlen, secs):
    wtype, minlen, secs = int(wtype), int(minlen), float(secs)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                      socket.htons(0x0800))
    s.bind((iface, 0))
    s.settimeout(0.2)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            p, a = s.recvfrom(65535)
        except socket.timeout:
            continue
        if a[2] == 4 or len(p) < 28:        # PACKET_OUTGOING, or runt
            continue
        ihl = (p[0] & 15) * 4
        tot = struct.unpack("!H", p[2:4])[0]
        if p[0] >> 4 != 4 or p[9] != 17:
            continue
        sport, dport = struct.unpack("!HH", p[ihl:ihl + 4])
        pl = p[ihl + 8:tot]
        if dport != 18460 or len(pl) < max(minlen, 32) or \
           pl[0] & 15 != wtype:
            continue
        d = {"src": socket.inet_ntoa(p[12:16]),
             "dst": socket.inet_ntoa(p[16:20]), "sport": sport,
             "dport": dport, "payload": pl.hex()}
        with open(path, "w") as f:
            json.dump(d, f)
        out({"captured": len(pl), "src": d["src"], "sport": sport,
             "type": wtype,
             "counter": struct.unpack("!Q", pl[8:16])[0]})
        return 0
    out({"captured": 0})
    return 1


def ip4_udp(src, dst, sport, dport, payload):
    ulen = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17,
                     0, socket.inet_aton(src), socket.inet_aton(dst))
    # UDP checksum 0: none (RFC 768, IPv4 only)
    return ip + struct.pack("!HHHH", sport, dport, ulen, 0) + payload


def inject(path, dst, how, n, pps="20000"):
    n, pps = int(n), float(pps)
    c = json.load(open(path))
    pl = bytearray.fromhex(c["payload"])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    ctr0 = struct.unpack("!Q", bytes(pl[8:16]))[0]
    sent = 0
    t0 = time.monotonic()
    for i in range(n):
        d = bytearray(pl)
        if how == "forge":
            # a counter the window has not seen, and a tag that is wrong
            struct.pack_into("!Q", d, 8, ctr0 + (1 << 20) + i)
            for j in range(len(d) - 16, len(d)):
                d[j] ^= 0x5a
        elif how == "badlink":
            d[1] = 7                        # a link id the site lacks
        elif how != "replay":
            raise SystemExit("inject: HOW is forge, replay or badlink")
        s.sendto(ip4_udp(c["src"], dst, c["sport"], c["dport"], bytes(d)),
                 (dst, 0))
        sent += 1
        ahead = sent / pps - (time.monotonic() - t0)
        if ahead > 0.005:
            time.sleep(ahead)
    out({"sent": sent, "how": how, "seconds": round(time.monotonic() - t0, 2)})


# wp_hash64's 16-byte block step (common/hash.c before the fix) is
#   h = mulfold(load64(p) ^ K1 ^ h, load64(p + 8) ^ K2)
# so a block whose second 8 bytes are K2 (little-endian) makes the second
# factor 0 and h 0, whatever came before and whatever the seed.  struct
# flow_key is a[16] b[16] pa pb proto family pad: an IPv6 address whose
# interface identifier is K2's bytes, as `a` or `b`, zeroes the state; the
# rest of the key (the other address, the ports) is the same for every
# datagram, so every key hashes to one value.
K2 = 0x94d049bb133111eb


def hashflood(srcnet, dst, n, pps):
    n, pps = int(n), float(pps)
    pfx = socket.inet_pton(socket.AF_INET6, srcnet)[:4]     # 2001:db8::/32
    iid = struct.pack("<Q", K2)
    dsta = socket.inet_pton(socket.AF_INET6, dst)
    udp = struct.pack("!HHHH", 40000, 9, 8, 0)    # checksum 0: the
    # receiving host drops it (RFC 8200 8.1), so nothing answers
    tmpl = bytearray(struct.pack("!IHBB", 6 << 28, 8, 17, 64) + pfx +
                     b"\0" * 4 + iid + dsta + udp)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = 0
    t0 = time.monotonic()
    addr = (dst, 0)
    for i in range(n):
        # 2001:db8:ffXX:NNNN:<K2>: 2^24 sources, all in 2001:db8::/32
        struct.pack_into("!HH", tmpl, 12, 0xff00 | (i >> 16) & 0xff,
                         i & 0xffff)
        try:
            s.sendto(tmpl, addr)
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            time.sleep(0.001)
        sent += 1
        if sent % 256 == 0:
            ahead = sent / pps - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    out({"sent": sent, "seconds": round(time.monotonic() - t0, 2)})


def get(path, key):
    v = json.load(open(path))
    for part in key.split("."):
        sel = None
        if "[" in part and part.endswith("]"):
            part, sel = part[:-1].split("[", 1)
        if not isinstance(v, dict) or part not in v:
            return 1
        v = v[part]
        if sel is not None:
            v = next((x for x in v if x.get("name") == sel), None)
            if v is None:
                return 1
    print(json.dumps(v) if isinstance(v, (dict, list)) else
          str(v).lower() if isinstance(v, bool) else v)
    return 0


CMDS = {"garbage": garbage, "truncated": truncated, "slow": slow,
        "halfopen": halfopen, "frames": frames, "noread": noread,
        "many": many, "linkflap": linkflap, "reassign": reassign,
        "capture": capture, "inject": inject, "hashflood": hashflood,
        "get": get}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.exit(__doc__)
    sys.exit(CMDS[sys.argv[1]](*sys.argv[2:]) or 0)
