/*
 * Batched UDP I/O with GSO and GRO (udpio.h).  Every buffer is made in
 * udpio_new(); the packet path is recvmmsg, sendmmsg and arithmetic.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpio.h"

/* Control space per received message: UDP_GRO's int and one pktinfo
 * (a dual-stack socket gets IP_PKTINFO for IPv4 and IPV6_PKTINFO for
 * IPv6, never both), with room to spare so that another option someone
 * set on the fd does not truncate ours. */
#define RX_CTL 128
/* Per sent message: one UDP_SEGMENT cmsg of a u16. */
#define TX_CTL  CMSG_SPACE(sizeof(uint16_t))
#define TX_SIZE (1u << 20)
/* A flush retries EINTR this many times, then leaves the rest queued. */
#define EINTR_TRIES 8

struct udpio {
	int      fd;
	unsigned flags;
	int      gso, gro;
	size_t   gso_bytes; /* UDPIO_GSO_BYTES4 or 6, by the socket */
	unsigned batch;

	/* Receiving: batch messages of rx_size bytes. */
	size_t                   rx_size;
	struct mmsghdr          *rmsg;
	struct iovec            *riov;
	struct sockaddr_storage *rname;
	uint8_t                 *rctl;
	uint8_t                 *rbuf;
	size_t                  *rviews; /* datagrams left in message i */
	uint32_t                *rseg;   /* its segment size, 0: one */
	int                     *rifindex;
	struct wp_addr          *rlocal;
	unsigned                 rn, rcur; /* messages, the one handed out */
	size_t                   roff;     /* where in it */

	/* Sending: datagrams packed in tbuf, described by q[head..head+nq). */
	uint8_t          *tbuf;
	size_t            tx_size, tail;
	struct udpio_txd *q;
	size_t            tx_max, head, nq;
	size_t            nogso; /* the next nogso datagrams: no GSO */
	struct udpio_run *runs;
	struct mmsghdr   *smsg;
	struct iovec     *siov;
	uint8_t          *sctl;

	struct udpio_sys   sys;
	struct udpio_stats st;
};

static int
sys_recvmmsg(
    int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *tmo)
{
	return recvmmsg(fd, m, n, flags, tmo);
}

static int
sys_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags)
{
	return sendmmsg(fd, m, n, flags);
}

static int
set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* What the kernel offers: GSO if it knows UDP_SEGMENT (before 4.18 it
 * would ignore the cmsg and send one large datagram), GRO if it takes
 * UDP_GRO (5.0; ENOPROTOOPT or EINVAL before).  GRO is switched off
 * explicitly otherwise: the fd may have had it from an earlier udpio. */
static void
offloads_init(struct udpio *u, unsigned flags)
{
	int       v;
	socklen_t len = sizeof(v);

	if (!(flags & UDPIO_NO_OFFLOAD) &&
	    getsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0)
		u->gso = 1;
	if (!(flags & (UDPIO_NO_OFFLOAD | UDPIO_NO_GRO)) &&
	    set_int(u->fd, SOL_UDP, UDP_GRO, 1) == 0)
		u->gro = 1;
	else
		(void)set_int(u->fd, SOL_UDP, UDP_GRO, 0);
}

static int
pktinfo_init(struct udpio *u, int family)
{
	if (family == AF_INET)
		return set_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1);
	if (set_int(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == -1)
		return -1;
	/* IPv4 on a dual-stack socket reports IP_PKTINFO; a v6-only
	 * socket may refuse it, which is fine. */
	(void)set_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1);
	return 0;
}

static int
conf_fill(struct udpio_conf *c, const struct udpio_conf *conf)
{
	if (conf != NULL)
		*c = *conf;
	if (c->batch == 0)
		c->batch = UDPIO_BATCH;
	if (c->rx_size == 0)
		c->rx_size = UDPIO_GRO_SIZE;
	if (c->tx_size == 0)
		c->tx_size = TX_SIZE;
	if (c->tx_max == 0)
		c->tx_max = c->batch * UDPIO_GSO_SEGS;
	if (c->batch > UDPIO_BATCH_MAX || c->rx_size > UDPIO_GRO_SIZE ||
	    c->tx_size > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
alloc_all(struct udpio *u)
{
	size_t b = u->batch;

	u->rmsg = calloc(b, sizeof(*u->rmsg));
	u->riov = calloc(b, sizeof(*u->riov));
	u->rname = calloc(b, sizeof(*u->rname));
	u->rctl = calloc(b, RX_CTL);
	u->rbuf = calloc(b, u->rx_size);
	u->rviews = calloc(b, sizeof(*u->rviews));
	u->rseg = calloc(b, sizeof(*u->rseg));
	u->rifindex = calloc(b, sizeof(*u->rifindex));
	u->rlocal = calloc(b, sizeof(*u->rlocal));
	u->tbuf = calloc(1, u->tx_size);
	u->q = calloc(u->tx_max, sizeof(*u->q));
	u->runs = calloc(b, sizeof(*u->runs));
	u->smsg = calloc(b, sizeof(*u->smsg));
	u->siov = calloc(b, sizeof(*u->siov));
	u->sctl = calloc(b, TX_CTL);
	if (u->rmsg == NULL || u->riov == NULL || u->rname == NULL ||
	    u->rctl == NULL || u->rbuf == NULL || u->rviews == NULL ||
	    u->rseg == NULL || u->rifindex == NULL || u->rlocal == NULL ||
	    u->tbuf == NULL || u->q == NULL || u->runs == NULL ||
	    u->smsg == NULL || u->siov == NULL || u->sctl == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

struct udpio *
udpio_new(int fd, const struct udpio_conf *conf)
{
	struct udpio_conf       c = {0};
	struct sockaddr_storage ss;
	socklen_t               sslen = sizeof(ss);
	struct udpio           *u;

	if (conf_fill(&c, conf) == -1)
		return NULL;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return NULL;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->fd = fd;
	u->flags = c.flags;
	u->batch = c.batch;
	u->tx_size = c.tx_size;
	u->tx_max = c.tx_max;
	u->gso_bytes =
	    ss.ss_family == AF_INET ? UDPIO_GSO_BYTES4 : UDPIO_GSO_BYTES6;
	u->sys.recvmmsg = sys_recvmmsg;
	u->sys.sendmmsg = sys_sendmmsg;
	offloads_init(u, c.flags);
	u->rx_size = u->gro ? UDPIO_GRO_SIZE : c.rx_size;
	if ((c.flags & UDPIO_PKTINFO) && pktinfo_init(u, ss.ss_family) == -1)
		goto fail;
	if (alloc_all(u) == -1)
		goto fail;
	return u;
fail:
	udpio_free(u);
	return NULL;
}

void
udpio_free(struct udpio *u)
{
	int saved = errno;

	if (u == NULL)
		return;
	free(u->rmsg);
	free(u->riov);
	free(u->rname);
	free(u->rctl);
	free(u->rbuf);
	free(u->rviews);
	free(u->rseg);
	free(u->rifindex);
	free(u->rlocal);
	free(u->tbuf);
	free(u->q);
	free(u->runs);
	free(u->smsg);
	free(u->siov);
	free(u->sctl);
	free(u);
	errno = saved;
}

unsigned
udpio_offloads(const struct udpio *u)
{
	return (u->gso ? UDPIO_GSO : 0) | (u->gro ? UDPIO_GRO : 0);
}

const struct udpio_stats *
udpio_stats(const struct udpio *u)
{
	return &u->st;
}

void
udpio_set_sys(struct udpio *u, const struct udpio_sys *sys)
{
	u->sys = *sys;
}

/* ------------------------------------------------------------ receive */

/*
 * Every cmsg is copied out with memcpy after its length is checked: the
 * kernel is trusted, but a short cmsg must cost a drop, not a read past
 * the control buffer.  *seg is -1 when the control data was truncated
 * (the boundaries of a coalesced message are then unknown).
 */
/* The bytes of c's data, no more than lie inside the control buffer. */
static size_t
cmsg_dlen(const struct msghdr *m, const struct cmsghdr *c)
{
	size_t at = (size_t)((const uint8_t *)CMSG_DATA(c) -
	    (const uint8_t *)m->msg_control);
	size_t len = c->cmsg_len > CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;

	if (at >= m->msg_controllen)
		return 0;
	return len < m->msg_controllen - at ? len : m->msg_controllen - at;
}

static void
cmsg_parse(const struct msghdr *m, int *seg, int *ifindex, struct wp_addr *a)
{
	struct cmsghdr *c;
	int             v;
	uint16_t        v16;

	*seg = 0;
	if (m->msg_flags & MSG_CTRUNC) {
		*seg = -1;
		return;
	}
	for (c = CMSG_FIRSTHDR(m); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		size_t dlen = cmsg_dlen(m, c);

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			if (dlen >= sizeof(v)) {
				memcpy(&v, CMSG_DATA(c), sizeof(v));
				*seg = v > 0 && v <= UINT16_MAX ? v : 0;
			} else if (dlen >= sizeof(v16)) {
				memcpy(&v16, CMSG_DATA(c), sizeof(v16));
				*seg = v16;
			}
		} else if (ifindex == NULL) {
			continue;
		} else if (c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO &&
		    dlen >= sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*ifindex = pi.ipi_ifindex;
			memset(a, 0, sizeof(*a));
			a->family = AF_INET;
			memcpy(a->a, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    dlen >= sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*ifindex = (int)pi.ipi6_ifindex;
			a->family = AF_INET6;
			memcpy(a->a, &pi.ipi6_addr, 16);
		}
	}
}

int
udpio_gro_size(const struct msghdr *m)
{
	int seg;

	cmsg_parse(m, &seg, NULL, NULL);
	return seg;
}

int
udpio_recv(struct udpio *u)
{
	struct mmsghdr *m;
	size_t          total = 0;
	unsigned        i;
	int             n, seg;

	u->rn = u->rcur = 0;
	u->roff = 0;
	for (i = 0; i < u->batch; i++) {
		m = &u->rmsg[i];
		u->riov[i].iov_base = u->rbuf + (size_t)i * u->rx_size;
		u->riov[i].iov_len = u->rx_size;
		m->msg_hdr.msg_iov = &u->riov[i];
		m->msg_hdr.msg_iovlen = 1;
		m->msg_hdr.msg_name = &u->rname[i];
		m->msg_hdr.msg_namelen = sizeof(u->rname[i]);
		m->msg_hdr.msg_control = u->rctl + (size_t)i * RX_CTL;
		m->msg_hdr.msg_controllen = RX_CTL;
		m->msg_hdr.msg_flags = 0;
		m->msg_len = 0;
	}
	u->st.rx_syscalls++;
	n = u->sys.recvmmsg(u->fd, u->rmsg, u->batch, MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		u->st.rx_errors++;
		return -1;
	}
	if (n < 0 || (unsigned)n > u->batch)
		return 0;
	u->rn = (unsigned)n;
	for (i = 0; i < u->rn; i++) {
		m = &u->rmsg[i];
		u->rviews[i] = 0;
		u->rifindex[i] = 0;
		u->rlocal[i].family = 0;
		cmsg_parse(&m->msg_hdr, &seg,
		    (u->flags & UDPIO_PKTINFO) ? &u->rifindex[i] : NULL,
		    &u->rlocal[i]);
		if (m->msg_len > u->rx_size ||
		    (m->msg_hdr.msg_flags & MSG_TRUNC)) {
			u->st.rx_trunc++;
			continue;
		}
		if (seg < 0) {
			u->st.rx_bad_cmsg++;
			continue;
		}
		u->st.rx_msgs++;
		u->rseg[i] = (uint32_t)seg;
		if (seg == 0 || (size_t)seg >= m->msg_len) {
			u->rviews[i] = 1;
		} else {
			u->rviews[i] =
			    (m->msg_len + (size_t)seg - 1) / (size_t)seg;
			u->st.rx_gro_split++;
		}
		u->st.rx_bytes += m->msg_len;
		total += u->rviews[i];
	}
	u->st.rx_dgrams += total;
	return (int)total;
}

int
udpio_next(struct udpio *u, struct udpio_dgram *d)
{
	struct mmsghdr *m;
	size_t          len, step;

	while (u->rcur < u->rn && u->rviews[u->rcur] == 0) {
		u->rcur++;
		u->roff = 0;
	}
	if (u->rcur >= u->rn)
		return 0;
	m = &u->rmsg[u->rcur];
	len = m->msg_len;
	step = u->rseg[u->rcur] != 0 ? u->rseg[u->rcur] : len;
	if (step > len - u->roff)
		step = len - u->roff;
	d->data = u->rbuf + (size_t)u->rcur * u->rx_size + u->roff;
	d->len = step;
	d->from = (const struct sockaddr *)&u->rname[u->rcur];
	d->fromlen = m->msg_hdr.msg_namelen;
	d->ifindex = u->rifindex[u->rcur];
	d->local = u->rlocal[u->rcur];
	u->roff += step;
	u->rviews[u->rcur]--;
	return 1;
}

/* --------------------------------------------------------------- send */

static int
same_dst(const struct udpio_txd *a, const struct udpio_txd *b)
{
	return a->dstlen == b->dstlen &&
	    memcmp(&a->dst, &b->dst, a->dstlen) == 0;
}

/*
 * The kernel cuts a UDP_SEGMENT message into seg-sized datagrams, the
 * last one possibly shorter: so a run is datagrams of one size to one
 * destination, adjacent in the arena (one iovec), and ends after the
 * first shorter one.  A zero-length datagram is never a segment.
 */
size_t
udpio_plan(const struct udpio_txd *q, size_t nq, unsigned max_segs,
    size_t max_bytes, struct udpio_run *runs, size_t maxruns)
{
	struct udpio_run *r;
	size_t            i = 0, nr = 0, seg;

	while (i < nq && nr < maxruns) {
		r = &runs[nr++];
		seg = q[i].len;
		r->first = i;
		r->n = 1;
		r->bytes = seg;
		r->seg = 0;
		i++;
		if (seg == 0 || seg > UINT16_MAX)
			continue;
		while (i < nq && r->n < max_segs && q[i].len > 0 &&
		    q[i].len <= seg && r->bytes + q[i].len <= max_bytes &&
		    q[i].off == q[i - 1].off + q[i - 1].len &&
		    same_dst(&q[r->first], &q[i])) {
			r->bytes += q[i].len;
			r->n++;
			if (q[i++].len < seg)
				break;
		}
		if (r->n > 1)
			r->seg = (uint16_t)seg;
	}
	return nr;
}

uint8_t *
udpio_slot(struct udpio *u, size_t *cap)
{
	size_t room = u->tx_size - u->tail;

	if (u->head + u->nq >= u->tx_max || room == 0) {
		*cap = 0;
		return NULL;
	}
	*cap = room < UDPIO_DGRAM_MAX ? room : UDPIO_DGRAM_MAX;
	return u->tbuf + u->tail;
}

int
udpio_commit(
    struct udpio *u, size_t len, const struct sockaddr *dst, socklen_t dstlen)
{
	struct udpio_txd *t;
	size_t            cap;

	if (udpio_slot(u, &cap) == NULL || len > cap ||
	    (dst != NULL && dstlen > sizeof(t->dst))) {
		errno = EINVAL;
		return -1;
	}
	t = &u->q[u->head + u->nq];
	t->off = (uint32_t)u->tail;
	t->len = (uint32_t)len;
	t->dstlen = dst != NULL ? dstlen : 0;
	memset(&t->dst, 0, sizeof(t->dst));
	if (dst != NULL)
		memcpy(&t->dst, dst, dstlen);
	u->tail += len;
	u->nq++;
	return 0;
}

int
udpio_queue(struct udpio *u, const void *buf, size_t len,
    const struct sockaddr *dst, socklen_t dstlen)
{
	uint8_t *p;
	size_t   cap;

	if ((p = udpio_slot(u, &cap)) == NULL || len > cap) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(p, buf, len);
	return udpio_commit(u, len, dst, dstlen);
}

size_t
udpio_pending(const struct udpio *u)
{
	return u->nq;
}

/* The first n queued datagrams are done with, sent or not. */
static void
advance(struct udpio *u, size_t n)
{
	u->head += n;
	u->nq -= n;
	u->nogso = u->nogso > n ? u->nogso - n : 0;
	if (u->nq == 0)
		u->head = u->tail = 0;
}

void
udpio_discard(struct udpio *u)
{
	u->st.tx_dropped += u->nq;
	u->nogso = 0;
	advance(u, u->nq);
}

int
udpio_send(struct udpio *u)
{
	int n;

	if (u->nq == 0)
		return 0;
	n = udpio_flush(u);
	if (u->nq > 0)
		udpio_discard(u);
	return n;
}

uint64_t
udpio_tx_failed(const struct udpio_stats *st)
{
	return st->tx_dropped + st->tx_err_refused + st->tx_err_unreach +
	    st->tx_err_msgsize + st->tx_err_nobufs + st->tx_err_other;
}

static void
count_error(struct udpio *u, int err, size_t n)
{
	switch (err) {
	case ECONNREFUSED:
		u->st.tx_err_refused += n;
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
		u->st.tx_err_unreach += n;
		break;
	case EMSGSIZE:
		u->st.tx_err_msgsize += n;
		break;
	case ENOBUFS:
		u->st.tx_err_nobufs += n;
		break;
	default:
		u->st.tx_err_other += n;
	}
}

static void
build(struct udpio *u, size_t nr)
{
	const struct udpio_txd *t;
	struct udpio_run       *r;
	struct msghdr          *h;
	struct cmsghdr         *c;
	size_t                  i;

	for (i = 0; i < nr; i++) {
		r = &u->runs[i];
		t = &u->q[u->head + r->first];
		h = &u->smsg[i].msg_hdr;
		memset(h, 0, sizeof(*h));
		u->siov[i].iov_base = u->tbuf + t->off;
		u->siov[i].iov_len = r->bytes;
		h->msg_iov = &u->siov[i];
		h->msg_iovlen = 1;
		if (t->dstlen > 0) {
			h->msg_name = (void *)&t->dst;
			h->msg_namelen = t->dstlen;
		}
		if (r->seg != 0) {
			h->msg_control = u->sctl + i * TX_CTL;
			h->msg_controllen = TX_CTL;
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			memcpy(CMSG_DATA(c), &r->seg, sizeof(r->seg));
		}
	}
}

/*
 * Each round plans at most `batch` messages from the head of the queue
 * and makes one sendmmsg.  The kernel stops at the first message it
 * refuses and reports the error only when that message comes first, so
 * a round that sent k < nr goes on with the next round, whose first
 * message then says why.  Every round sends, drops, stops, or turns GSO
 * off for good or for the run in front: the loop ends.
 */
int
udpio_flush(struct udpio *u)
{
	struct udpio_run *r;
	size_t            nr, avail, i, sent = 0;
	unsigned          segs;
	int               k, err, tries = 0;

	while (u->nq > 0) {
		segs = u->gso && u->nogso == 0 ? UDPIO_GSO_SEGS : 1;
		avail = u->nogso > 0 ? u->nogso : u->nq;
		nr = udpio_plan(&u->q[u->head], avail, segs, u->gso_bytes,
		    u->runs, u->batch);
		build(u, nr);
		u->st.tx_syscalls++;
		k = u->sys.sendmmsg(u->fd, u->smsg, (unsigned)nr, MSG_DONTWAIT);
		if (k > 0) {
			if ((size_t)k > nr)
				k = (int)nr;
			for (i = 0; i < (size_t)k; i++) {
				r = &u->runs[i];
				u->st.tx_msgs++;
				u->st.tx_dgrams += r->n;
				u->st.tx_bytes += r->bytes;
				if (r->seg != 0)
					u->st.tx_gso_msgs++;
				sent += r->n;
			}
			advance(u, u->runs[k - 1].first + u->runs[k - 1].n);
			continue;
		}
		err = k == 0 ? EAGAIN : errno;
		r = &u->runs[0];
		if (err == EINTR && ++tries < EINTR_TRIES)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
			u->st.tx_eagain++;
			break;
		}
		if (r->seg != 0 && err == EIO) {
			/* UDP_SEGMENT needs checksum offload on the way
			 * out: without it every segmented send fails. */
			u->gso = 0;
			u->st.tx_gso_off++;
			continue;
		}
		if (r->seg != 0 && (err == EINVAL || err == EMSGSIZE)) {
			/* A segment over the route's MTU, say: send this
			 * run's datagrams one by one, which IP may
			 * fragment as it would any other. */
			u->nogso = r->n;
			u->st.tx_gso_retry++;
			continue;
		}
		count_error(u, err, r->n);
		advance(u, r->n);
	}
	return (int)sent;
}

/* ------------------------------------------------------ socket buffers */

static int
buf_set(int fd, int force, int plain, int bytes)
{
	if (set_int(fd, SOL_SOCKET, force, bytes) == 0)
		return 0;
	return set_int(fd, SOL_SOCKET, plain, bytes);
}

static void
buf_get(int fd, int name, int *out)
{
	socklen_t len = sizeof(*out);

	if (out != NULL && getsockopt(fd, SOL_SOCKET, name, out, &len) == -1)
		*out = 0;
}

int
udpio_bufsize(int fd, int bytes, int *rcv, int *snd)
{
	int rc = 0;

	if (buf_set(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes) == -1)
		rc = -1;
	if (buf_set(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes) == -1)
		rc = -1;
	buf_get(fd, SO_RCVBUF, rcv);
	buf_get(fd, SO_SNDBUF, snd);
	return rc;
}

int
udpio_steer_workers(int fd, unsigned workers)
{
	/* wire_steer(): (worker byte + session % workers) % workers, the
	 * session the big-endian word at byte 4, the worker byte 2. */
	struct sock_filter code[] = {
	    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 4},
	    {BPF_ALU | BPF_MOD | BPF_K, 0, 0, workers},
	    {BPF_ST, 0, 0, 0},
	    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 2},
	    {BPF_LDX | BPF_MEM, 0, 0, 0},
	    {BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0},
	    {BPF_ALU | BPF_MOD | BPF_K, 0, 0, workers},
	    {BPF_RET | BPF_A, 0, 0, 0},
	};
	struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};

	return setsockopt(
	    fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}
