#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mss.h"
#include "proto.h"
#include "tundev.h"
#include "vnet.h"

/* Segments one read may stand for: a 64 KiB super-segment of MSS 256 or
 * more (the kernel's TCP never goes below 536 without being asked to). */
#define SPLIT_SEGS 256
/* Packets queued for the device before a flush is forced, and their
 * bytes: VNET_GRO_BATCH packets of up to a 9000-byte MTU. */
#define OUT_PKTS  VNET_GRO_BATCH
#define OUT_BYTES ((size_t)OUT_PKTS * 9000)

struct tundev_io {
	int                 vnet;
	unsigned            offloads; /* TUN_F_* */
	struct tundev_stats st;
	/* the way in: one read, and what it is cut into */
	uint8_t         rbuf[VNET_READ_MAX];
	uint8_t         split[VNET_SPLIT_AREA(SPLIT_SEGS)];
	struct vnet_seg segs[SPLIT_SEGS];
	/* the way out: packets back to back in `in`, then the writes */
	uint8_t         in[OUT_BYTES + WIRE_MAX_INNER];
	size_t          inlen, nin;
	struct vnet_seg inseg[OUT_PKTS];
	uint8_t out[VNET_GRO_AREA(OUT_BYTES + WIRE_MAX_INNER, OUT_PKTS)];
	struct vnet_seg w[OUT_PKTS];
	uint8_t         one[VNET_HDR_LEN + WIRE_MAX_INNER]; /* tundev_write */
};

int
tundev_attach(struct tun_dev *t, struct event_base *base, int fd, int mtu,
    int vnet, event_callback_fn cb, void *arg)
{
	if (t->io == NULL && (t->io = calloc(1, sizeof(*t->io))) == NULL)
		return -1;
	t->fd = fd;
	t->io->vnet = vnet;
	t->mtu = mtu;
	t->mss4 = mss_for_mtu(AF_INET, t->mtu);
	t->mss6 = mss_for_mtu(AF_INET6, t->mtu);
	if (base == NULL)
		return 0;
	t->ev = event_new(base, t->fd, EV_READ | EV_PERSIST, cb, arg);
	if (t->ev == NULL || event_add(t->ev, NULL) == -1)
		return -1;
	return 0;
}

int
tundev_up(struct tun_dev *t, struct event_base *base, const char *name, int mtu,
    int offload, int mq, event_callback_fn cb, void *arg)
{
	int fd, got = 0;

	if ((fd = tun_open_queue(
		 name, t->name, sizeof(t->name), offload, mq)) == -1) {
		log_warn("tun %s", name);
		return -1;
	}
	if (offload && (got = tun_offload(fd, VNET_TUN_OFFLOADS)) == -1) {
		log_warn("tun %s: no offloads, a packet per read", t->name);
		got = 0;
	}
	if (tundev_attach(t, base, fd, mtu, offload, cb, arg) == -1) {
		log_warn("tun %s", t->name);
		if (t->fd != fd)
			close(fd);
		return -1;
	}
	t->io->offloads = (unsigned)got;
	if (tun_up(t->name, t->mtu) == -1) {
		log_warn("tun %s: set MTU %d and up", t->name, t->mtu);
		return -1;
	}
	return 0;
}

int
tundev_queue(struct tun_dev *q, const struct tun_dev *dev)
{
	char name[IFNAMSIZ];
	int  fd, vnet = dev->io->vnet;

	if ((fd = tun_open_queue(dev->name, name, sizeof(name), vnet, 1)) ==
	    -1) {
		log_warn("tun %s: another queue", dev->name);
		return -1;
	}
	memcpy(q->name, name, sizeof(q->name));
	if (tundev_attach(q, NULL, fd, dev->mtu, vnet, NULL, NULL) == -1) {
		log_warn("tun %s: another queue", dev->name);
		close(fd);
		q->fd = -1;
		return -1;
	}
	q->io->offloads = dev->io->offloads;
	return 0;
}

void
tundev_close(struct tun_dev *t)
{
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
	if (t->fd > 0)
		close(t->fd);
	t->fd = -1;
	free(t->io);
	t->io = NULL;
}

unsigned
tundev_offloads(const struct tun_dev *t)
{
	return t->io != NULL ? t->io->offloads : 0;
}

const struct tundev_stats *
tundev_stats(const struct tun_dev *t)
{
	static const struct tundev_stats none;

	return t->io != NULL ? &t->io->st : &none;
}

size_t
tundev_read(struct tun_dev *t, unsigned reads, tundev_pkt_fn fn, void *arg)
{
	struct tundev_io *io = t->io;
	size_t            pkts = 0;
	ssize_t           n;
	unsigned          i;
	int               k, j;

	for (i = 0; i < reads; i++) {
		if ((n = read(t->fd, io->rbuf, sizeof(io->rbuf))) <= 0)
			break;
		io->st.reads++;
		if (!io->vnet) {
			fn(arg, io->rbuf, (size_t)n);
			pkts++;
			continue;
		}
		k = vnet_split(io->rbuf, (size_t)n, io->split,
		    sizeof(io->split), io->segs, SPLIT_SEGS);
		if (k < 0) {
			io->st.split_errors++;
			continue;
		}
		io->st.superseg_in += k > 1;
		for (j = 0; j < k; j++)
			/* Ours: rbuf or split, cast back from the view. */
			fn(arg, (uint8_t *)(uintptr_t)io->segs[j].p,
			    io->segs[j].len);
		pkts += (size_t)k;
	}
	io->st.pkts_in += pkts;
	return pkts;
}

size_t
tundev_read_batch(
    struct tun_dev *t, unsigned reads, tundev_batch_fn fn, void *arg)
{
	struct tundev_io *io = t->io;
	uint8_t          *pkts[SPLIT_SEGS];
	size_t            lens[SPLIT_SEGS], all = 0, off = 0;
	unsigned          i, n = 0;
	ssize_t           r;
	int               k, j;

	for (i = 0; i < reads; i++) {
		if (io->vnet) {
			if ((r = read(t->fd, io->rbuf, sizeof(io->rbuf))) <= 0)
				break;
			io->st.reads++;
			k = vnet_split(io->rbuf, (size_t)r, io->split,
			    sizeof(io->split), io->segs, SPLIT_SEGS);
			if (k < 0) {
				io->st.split_errors++;
				continue;
			}
			io->st.superseg_in += k > 1;
			for (j = 0; j < k; j++) {
				pkts[j] = (uint8_t *)(uintptr_t)io->segs[j].p;
				lens[j] = io->segs[j].len;
			}
			fn(arg, pkts, lens, (unsigned)k);
			all += (size_t)k;
			continue;
		}
		/* Without vnet headers a read is one packet of at most the
		 * MTU: as many as fit in rbuf make one batch. */
		if ((r = read(t->fd, io->rbuf + off, sizeof(io->rbuf) - off)) <=
		    0)
			break;
		io->st.reads++;
		pkts[n] = io->rbuf + off;
		lens[n++] = (size_t)r;
		off += (size_t)r;
		if (n == SPLIT_SEGS ||
		    sizeof(io->rbuf) - off < (size_t)t->mtu + VNET_HDR_LEN) {
			fn(arg, pkts, lens, n);
			all += n;
			n = 0;
			off = 0;
		}
	}
	if (n > 0) {
		fn(arg, pkts, lens, n);
		all += n;
	}
	io->st.pkts_in += all;
	return all;
}

static void
write_one(struct tun_dev *t, const uint8_t *p, size_t len)
{
	t->io->st.writes++;
	if (write(t->fd, p, len) != (ssize_t)len)
		t->write_errors++;
}

uint8_t *
tundev_slot(struct tun_dev *t, size_t *cap)
{
	struct tundev_io *io = t->io;

	if (!io->vnet) {
		*cap = WIRE_MAX_INNER;
		return io->in;
	}
	if (io->nin == OUT_PKTS || io->inlen > OUT_BYTES)
		tundev_flush(t);
	*cap = WIRE_MAX_INNER;
	return io->in + io->inlen;
}

void
tundev_commit(struct tun_dev *t, size_t len)
{
	struct tundev_io *io = t->io;

	io->st.pkts_out++;
	if (!io->vnet) {
		write_one(t, io->in, len);
		return;
	}
	io->inseg[io->nin].p = io->in + io->inlen;
	io->inseg[io->nin].len = len;
	io->nin++;
	io->inlen += len;
}

void
tundev_flush(struct tun_dev *t)
{
	struct tundev_io     *io = t->io;
	struct vnet_gro_stats gs = {0};
	int                   m, i;

	if (io == NULL || io->nin == 0)
		return;
	m = vnet_coalesce(
	    io->inseg, io->nin, io->out, sizeof(io->out), io->w, OUT_PKTS, &gs);
	/* The areas are sized so that this cannot fail; if it did, the
	 * batch is lost, counted. */
	if (m < 0)
		t->write_errors += io->nin;
	for (i = 0; i < m; i++)
		write_one(t, io->w[i].p, io->w[i].len);
	io->st.csum_bad += gs.csum_bad;
	io->st.merged_out += gs.merged;
	io->nin = 0;
	io->inlen = 0;
}

void
tundev_write(struct tun_dev *t, const uint8_t *pkt, size_t len)
{
	struct tundev_io *io = t->io;

	if (!io->vnet) {
		write_one(t, pkt, len);
		return;
	}
	if (len > WIRE_MAX_INNER) {
		t->write_errors++;
		return;
	}
	vnet_hdr_plain(io->one);
	memcpy(io->one + VNET_HDR_LEN, pkt, len);
	write_one(t, io->one, VNET_HDR_LEN + len);
}
