#include "autoconf.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tun.h"

/* <linux/if.h> has it but clashes with <net/if.h>; the value is ABI. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* the driver signals carrier (L1 up) */
#endif

/* Any reply that is not the answer to this is someone else's. */
#define ROUTE_SEQ 1
/*
 * rtnetlink handles a request inside our sendmsg() and queues the ACK
 * before it returns, so the wait is only a guard against a kernel that
 * never answers.
 */
#define ROUTE_TIMEOUT_S 2
/*
 * With NETLINK_CAP_ACK the ACK is a nlmsghdr, the error and the header of
 * our request (36 bytes); without it (kernels before 4.3) it repeats the
 * whole request.  Either fits with room to spare.
 */
#define ROUTE_REPLY_MAX 1024

struct route_req {
	struct nlmsghdr nh;
	struct rtmsg    rt;
	/* RTA_DST (16 bytes) and RTA_OIF (4): 28 bytes with their headers */
	char attrs[64];
};

/* Appends one attribute, or fails if the request has no room left. */
static int
rta_put(
    struct route_req *req, unsigned short type, const void *data, size_t len)
{
	size_t         off = NLMSG_ALIGN(req->nh.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(*req)) {
		errno = ENOBUFS;
		return -1;
	}
	/* From the start of the whole request, which attrs[] is part of. */
	rta = (struct rtattr *)((char *)req + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

/*
 * Reads until the NLMSG_ERROR that answers ROUTE_SEQ and returns its
 * error as 0 / -1 with errno.  Only the kernel (nl_pid 0) is heard: a
 * process with CAP_NET_ADMIN could send to our port too.
 */
static int
route_ack(int fd)
{
	union {
		struct nlmsghdr nh; /* aligns the buffer for the casts below */
		char            buf[ROUTE_REPLY_MAX];
	} u;
	struct sockaddr_nl sa;
	struct iovec       iov = {u.buf, sizeof(u.buf)};
	struct msghdr      msg;
	struct nlmsghdr   *nh;
	struct nlmsgerr   *err;
	ssize_t            n;
	size_t             left;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sa;
		msg.msg_namelen = sizeof(sa);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if ((n = recvmsg(fd, &msg, 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			errno = EMSGSIZE;
			return -1;
		}
		if (msg.msg_namelen != sizeof(sa) ||
		    sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
			continue;
		left = (size_t)n;
		for (nh = &u.nh; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != ROUTE_SEQ ||
			    nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*err))) {
				errno = EBADMSG;
				return -1;
			}
			err = NLMSG_DATA(nh);
			if (err->error == 0)
				return 0;
			/* The kernel sends -errno; anything else is garbage. */
			if (err->error < 0 && err->error > -4096)
				errno = -err->error;
			else
				errno = EPROTO;
			return -1;
		}
	}
}

/*
 * One socket per call: routes change at start-up and when a site logs in,
 * rarely enough that a socket kept open (and its buffer, and its state
 * after an error) is not worth it.
 */
static int
route_change(
    int type, int flags, unsigned ifindex, const struct wp_prefix *prefix)
{
	struct route_req   req;
	struct sockaddr_nl sa;
	struct timeval     tv = {ROUTE_TIMEOUT_S, 0};
	uint8_t            dst[16];
	uint32_t           oif = ifindex;
	unsigned           bits;
	int                fd = -1, one = 1, saved;

	if (prefix->addr.family != AF_INET && prefix->addr.family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	bits = addr_bits(prefix->addr.family);
	if (prefix->len > bits) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * The kernel refuses an IPv4 destination with host bits set and
	 * masks an IPv6 one; mask it here so both families behave alike.
	 */
	memcpy(dst, prefix->addr.a, sizeof(dst));
	addr_mask(prefix->addr.family, dst, prefix->len);

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt));
	req.nh.nlmsg_type = (unsigned short)type;
	req.nh.nlmsg_flags =
	    (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	req.nh.nlmsg_seq = ROUTE_SEQ;
	req.rt.rtm_family = prefix->addr.family;
	req.rt.rtm_dst_len = prefix->len;
	req.rt.rtm_table = RT_TABLE_MAIN;
	/*
	 * The same fields for RTM_DELROUTE, so that it removes only the
	 * route we added: the kernel matches protocol, scope (IPv4) and
	 * interface when they are given, and leaves a route of the same
	 * prefix through another device or from another daemon alone.
	 */
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = RT_SCOPE_LINK;
	req.rt.rtm_type = RTN_UNICAST;
	/* No RTA_DST is the default route: the kernel wants none for /0. */
	if (prefix->len > 0 && rta_put(&req, RTA_DST, dst, bits / 8) == -1)
		return -1;
	if (rta_put(&req, RTA_OIF, &oif, sizeof(oif)) == -1)
		return -1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		goto fail;
	/* Best effort: keeps the ACK small; older kernels ignore it. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		sizeof(sa)) == -1)
		goto fail;
	if (route_ack(fd) == -1)
		goto fail;
	close(fd);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

int
route_add(const char *ifname, const struct wp_prefix *prefix)
{
	unsigned ifindex;

	/* if_nametoindex() sets ENODEV for a missing interface. */
	if ((ifindex = if_nametoindex(ifname)) == 0)
		return -1;
	return route_change(
	    RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ifindex, prefix);
}

int
route_del(const char *ifname, const struct wp_prefix *prefix)
{
	unsigned ifindex;

	/*
	 * The kernel flushes a device's routes when the device goes away,
	 * so no interface means no route left to remove.
	 */
	if ((ifindex = if_nametoindex(ifname)) == 0)
		return errno == ENODEV ? 0 : -1;
	if (route_change(RTM_DELROUTE, 0, ifindex, prefix) == -1)
		return errno == ESRCH ? 0 : -1;
	return 0;
}

int
link_events_open(void)
{
	struct sockaddr_nl sa;
	int                fd;

	fd = socket(
	    AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Walks the messages as NLMSG_OK and NLMSG_NEXT would, with sizes that
 * cannot go negative: a header must fit in what is left and its length
 * too, the next one starts at the aligned end or the walk ends; an
 * ifinfomsg is read only from a message long enough for one.
 */
int
link_events_parse(const uint8_t *buf, size_t len, link_event_cb cb, void *arg)
{
	const struct nlmsghdr *nh;
	struct ifinfomsg       ifi;
	size_t                 off, step;
	int                    n = 0;

	if (len > INT32_MAX)
		return -1;
	for (off = 0; len - off >= sizeof(*nh); off += step) {
		nh = (const struct nlmsghdr *)(const void *)(buf + off);
		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len - off)
			break;
		step = NLMSG_ALIGN(nh->nlmsg_len);
		if (step > len - off)
			step = len - off;
		if (nh->nlmsg_type != RTM_NEWLINK &&
		    nh->nlmsg_type != RTM_DELLINK)
			continue;
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(ifi)))
			continue;
		memcpy(&ifi, NLMSG_DATA(nh), sizeof(ifi));
		if (ifi.ifi_index <= 0)
			continue;
		cb(arg, (unsigned)ifi.ifi_index,
		    nh->nlmsg_type == RTM_NEWLINK &&
			(ifi.ifi_flags & IFF_LOWER_UP) != 0);
		n++;
	}
	return n;
}
