#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include "buf.h"
#include "mss.h"
#include "pkt.h"

/* TCP option kinds (RFC 9293, 3.2). */
#define TCPOPT_END    0
#define TCPOPT_NOP    1
#define TCPOPT_MSS    2
#define TCPOLEN_MSS   4
#define TCP_HDR_MIN   20
#define TCP_OPT_SPACE 40 /* data offset 15: 60 - 20 */

/* RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'), in one's complement. */
static uint16_t
csum_replace16(uint16_t hc, uint16_t m, uint16_t mp)
{
	uint32_t s;

	s = (uint32_t)(uint16_t)~hc + (uint16_t)~m + mp;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t
bswap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

int
mss_clamp(uint8_t *pkt, size_t len, uint16_t mss)
{
	struct pkt_info pi;
	struct rbuf     tcp;
	size_t          at[TCP_OPT_SPACE / TCPOLEN_MSS], hlen, i, n = 0;
	uint16_t        val, hc, m, mp;
	uint8_t         doff, kind, olen;
	int             changed = 0;

	/*
	 * TUN bytes: the IP length must match (PKT_F_SNAPLEN off).  A later
	 * fragment carries no TCP header; pkt_parse() has already checked
	 * that a first fragment's data covers the whole TCP header.
	 */
	if (pkt_parse(pkt, len, 0, &pi) != PKT_OK || pi.proto != IPPROTO_TCP ||
	    pi.frag == PKT_FRAG_LATER || !(pi.tcp_flags & PKT_TCP_SYN))
		return 0;

	rbuf_init(&tcp, pkt, len);
	if (rbuf_seek(&tcp, pi.l4_off) == -1 ||
	    rbuf_peek_u8(&tcp, 12, &doff) == -1)
		return 0;
	hlen = (size_t)(doff >> 4) * 4;
	if (hlen < TCP_HDR_MIN || rbuf_left(&tcp) < hlen)
		return 0;
	/* From here `tcp` covers exactly the TCP header. */
	rbuf_init(&tcp, pkt + pi.l4_off, hlen);
	if (rbuf_peek_u16(&tcp, 16, &hc) == -1 ||
	    rbuf_skip(&tcp, TCP_HDR_MIN) == -1)
		return 0;

	/*
	 * First pass: walk every option and note where MSS values are, so
	 * that a malformed list leaves the packet exactly as it came.  A
	 * receiver honours each well-formed MSS option (Linux's
	 * tcp_parse_options() keeps the last one), so each is clamped.  An
	 * MSS option of another length is ignored by receivers (ibid.), so
	 * it is skipped like an unknown kind.
	 */
	while (rbuf_left(&tcp) > 0) {
		(void)rbuf_peek_u8(&tcp, 0, &kind);
		if (kind == TCPOPT_END)
			break;
		if (kind == TCPOPT_NOP) {
			(void)rbuf_skip(&tcp, 1);
			continue;
		}
		if (rbuf_peek_u8(&tcp, 1, &olen) == -1 || olen < 2 ||
		    olen > rbuf_left(&tcp))
			return 0;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS)
			at[n++] = tcp.off + 2;
		(void)rbuf_skip(&tcp, olen);
	}

	for (i = 0; i < n; i++) {
		(void)rbuf_seek(&tcp, at[i]);
		if (rbuf_peek_u16(&tcp, 0, &val) == -1 || val <= mss)
			continue;
		/*
		 * The checksum sums 16-bit words from the TCP header on,
		 * which starts on an even offset of the pseudo-header sum.
		 * A value at an odd offset straddles two words: its bytes
		 * enter the sum swapped (RFC 1071, 2.B), and so must the
		 * old and new values here.
		 */
		m = val;
		mp = mss;
		if (at[i] & 1) {
			m = bswap16(m);
			mp = bswap16(mp);
		}
		hc = csum_replace16(hc, m, mp);
		pkt[pi.l4_off + at[i]] = (uint8_t)(mss >> 8);
		pkt[pi.l4_off + at[i] + 1] = (uint8_t)mss;
		changed = 1;
	}
	if (changed) {
		pkt[pi.l4_off + 16] = (uint8_t)(hc >> 8);
		pkt[pi.l4_off + 17] = (uint8_t)hc;
	}
	return changed;
}

uint16_t
mss_for_mtu(int family, int mtu)
{
	int hdrs;

	switch (family) {
	case AF_INET:
		hdrs = 20 + TCP_HDR_MIN;
		break;
	case AF_INET6:
		hdrs = 40 + TCP_HDR_MIN;
		break;
	default:
		return 0;
	}
	/* 0 says "no MSS fits": an MTU that small cannot carry TCP. */
	if (mtu <= hdrs || mtu > 65535)
		return 0;
	return (uint16_t)(mtu - hdrs);
}
