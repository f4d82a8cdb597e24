/*
 * The TUN device and its routes, against the real kernel.  main() moves
 * the whole suite into a network namespace of its own before anything
 * else runs (check forks each test from it, and the children stay in it),
 * so nothing here touches the host's interfaces or routes.  Needs root;
 * without it, or without network namespaces, the suite is skipped (exit
 * 77, automake's SKIP).
 *
 * Each test uses its own device names and addresses, and a TUN device
 * that is not persistent disappears with the last fd, routes included,
 * so tests do not see each other's state even under CK_FORK=no.
 */
#include "autoconf.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "tun.h"
#include "check_run.h"

static struct wp_prefix
pfx(const char *s)
{
	struct wp_prefix p;
	const char      *why = NULL;

	ck_assert_msg(prefix_parse(s, &p, &why) == 0, "%s: %s", s, why);
	return p;
}

static int
open_up(const char *name, char *ifname)
{
	int fd = tun_open(name, ifname, IFNAMSIZ);

	ck_assert_msg(fd >= 0, "tun_open %s: %s", name, strerror(errno));
	ck_assert_str_eq(ifname, name);
	ck_assert_int_eq(tun_up(ifname, 1400), 0);
	return fd;
}

static short
if_flags(const char *ifname)
{
	struct ifreq ifr;
	int          s = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	close(s);
	return ifr.ifr_flags;
}

/*
 * Asks the kernel where it would send a packet for `addr` (RTM_GETROUTE,
 * what `ip route get` does).  Returns the outgoing interface index, or
 * -errno (ENETUNREACH when no route covers it).
 */
static int
route_get(const char *addr)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg    rt;
		char            attrs[32];
	} req;
	union {
		struct nlmsghdr nh;
		char            buf[8192];
	} u;
	struct wp_addr   a;
	struct rtattr   *rta;
	struct nlmsghdr *nh;
	unsigned         alen;
	ssize_t          n;
	size_t           left;
	int              fd, oif = -ENOENT, rlen;

	ck_assert_int_eq(addr_parse(addr, &a), 0);
	alen = addr_bits(a.family) / 8;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt)) + RTA_SPACE(alen);
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 7;
	req.rt.rtm_family = a.family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	rta = RTM_RTA(&req.rt);
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), a.a, alen);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    send(fd, &req, req.nh.nlmsg_len, 0), (ssize_t)req.nh.nlmsg_len);
	n = recv(fd, u.buf, sizeof(u.buf), 0);
	ck_assert_int_gt(n, 0);
	close(fd);
	left = (size_t)n;
	for (nh = &u.nh; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
		ck_assert_uint_eq(nh->nlmsg_seq, 7);
		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error;
		}
		ck_assert_uint_eq(nh->nlmsg_type, RTM_NEWROUTE);
		rlen = (int)RTM_PAYLOAD(nh);
		for (rta = RTM_RTA(NLMSG_DATA(nh)); RTA_OK(rta, rlen);
		     rta = RTA_NEXT(rta, rlen))
			if (rta->rta_type == RTA_OIF)
				memcpy(&oif, RTA_DATA(rta), sizeof(oif));
	}
	return oif;
}

START_TEST(open_gives_named_nonblocking_device)
{
	char ifname[IFNAMSIZ];
	char buf[2048];
	int  fd = tun_open("wanpairtest0", ifname, sizeof(ifname));

	ck_assert_msg(fd >= 0, "tun_open: %s", strerror(errno));
	ck_assert_str_eq(ifname, "wanpairtest0");
	ck_assert_uint_gt(if_index("wanpairtest0"), 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Nothing to read: a blocking fd would hang the daemon's loop. */
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Not persistent: the device goes away with the daemon. */
	close(fd);
	ck_assert_uint_eq(if_index("wanpairtest0"), 0);
}
END_TEST

START_TEST(open_without_name_lets_kernel_choose)
{
	char a[IFNAMSIZ], b[IFNAMSIZ];
	int  fa = tun_open("", a, sizeof(a));
	int  fb = tun_open(NULL, b, sizeof(b));

	ck_assert_int_ge(fa, 0);
	ck_assert_int_ge(fb, 0);
	ck_assert_int_eq(strncmp(a, "wanpair", 7), 0);
	ck_assert_int_eq(strncmp(b, "wanpair", 7), 0);
	ck_assert_msg(a[7] >= '0' && a[7] <= '9', "%s", a);
	ck_assert_str_ne(a, b);
	ck_assert_uint_gt(if_index(a), 0);
	ck_assert_uint_gt(if_index(b), 0);
	close(fa);
	close(fb);
}
END_TEST

START_TEST(open_errors)
{
	char ifname[IFNAMSIZ];
	int  fd;

	/* 16 characters do not fit IFNAMSIZ with the NUL: refused, not cut. */
	ck_assert_int_eq(
	    tun_open("wanpairtest01234", ifname, sizeof(ifname)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_uint_eq(if_index("wanpairtest0123"), 0);
	ck_assert_int_eq(tun_open("wanpairtest1", ifname, IFNAMSIZ - 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(if_index("wanpairtest1"), 0);
	/* A second daemon on the same device is told it is taken. */
	fd = tun_open("wanpairtest1", ifname, sizeof(ifname));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tun_open("wanpairtest1", ifname, sizeof(ifname)), -1);
	ck_assert_int_eq(errno, EBUSY);
	close(fd);
}
END_TEST

START_TEST(up_sets_mtu_and_up)
{
	char ifname[IFNAMSIZ];
	int  fd = tun_open("wanpairtest2", ifname, sizeof(ifname));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(if_flags(ifname) & IFF_UP, 0);
	ck_assert_int_eq(tun_up(ifname, 1400), 0);
	ck_assert_int_eq(if_get_mtu(ifname), 1400);
	ck_assert(if_flags(ifname) & IFF_UP);
	/* Again on a device already up: the MTU changes, it stays up. */
	ck_assert_int_eq(tun_up(ifname, 1380), 0);
	ck_assert_int_eq(if_get_mtu(ifname), 1380);
	ck_assert(if_flags(ifname) & IFF_UP);
	/* Below IPv4's 68 (RFC 791): refused, the old MTU stays. */
	ck_assert_int_eq(tun_up(ifname, 10), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(if_get_mtu(ifname), 1380);
	ck_assert_int_eq(tun_up("nonexistent0", 1400), -1);
	ck_assert_int_eq(errno, ENODEV);
	ck_assert_int_eq(tun_up("wanpairtest01234", 1400), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	close(fd);
}
END_TEST

START_TEST(interface_queries)
{
	ck_assert_int_gt(if_get_mtu("lo"), 0);
	ck_assert_uint_eq(if_index("lo"), 1);
	ck_assert_uint_eq(if_index("nonexistent0"), 0);
	ck_assert_int_eq(if_get_mtu("nonexistent0"), -1);
	ck_assert_int_eq(errno, ENODEV);
}
END_TEST

/*
 * Add, look up, add again, delete, delete again: for one prefix.  `outside`
 * (if any) is an address next to the prefix that must stay unrouted.
 */
static void
route_cycle(const char *name, const char *prefix, const char *inside,
    const char *outside)
{
	char             ifname[IFNAMSIZ];
	int              fd = open_up(name, ifname);
	int              idx = (int)if_index(ifname);
	struct wp_prefix p = pfx(prefix);

	ck_assert_int_eq(route_get(inside), -ENETUNREACH);
	ck_assert_int_eq(route_add(ifname, &p), 0);
	ck_assert_int_eq(route_get(inside), idx);
	if (outside != NULL)
		ck_assert_int_eq(route_get(outside), -ENETUNREACH);
	/* NLM_F_REPLACE: adding it again is not EEXIST. */
	ck_assert_int_eq(route_add(ifname, &p), 0);
	ck_assert_int_eq(route_get(inside), idx);
	ck_assert_int_eq(route_del(ifname, &p), 0);
	ck_assert_int_eq(route_get(inside), -ENETUNREACH);
	/* Already gone: not an error. */
	ck_assert_int_eq(route_del(ifname, &p), 0);
	close(fd);
}

START_TEST(route_ipv4)
{
	route_cycle("wanpairtest3", "10.99.0.0/24", "10.99.0.5", "10.99.1.5");
}
END_TEST

START_TEST(route_ipv6)
{
	route_cycle("wanpairtest4", "2001:db8:99::/64", "2001:db8:99::5",
	    "2001:db8:98::5");
}
END_TEST

/* No RTA_DST for /0: the default route through the tunnel. */
START_TEST(route_default)
{
	route_cycle("wanpairtest5", "0.0.0.0/0", "192.0.2.1", NULL);
}
END_TEST

START_TEST(route_default_ipv6)
{
	char             ifname[IFNAMSIZ];
	int              fd = open_up("wanpairtest6", ifname);
	struct wp_prefix p = pfx("::/0");

	ck_assert_int_eq(route_add(ifname, &p), 0);
	ck_assert_int_eq(route_get("2001:db8:1::1"), (int)if_index(ifname));
	ck_assert_int_eq(route_del(ifname, &p), 0);
	ck_assert_int_eq(route_get("2001:db8:1::1"), -ENETUNREACH);
	close(fd);
}
END_TEST

/*
 * A site that logs in again over another device: the route moves, and
 * removing it through the old device (stale cleanup) leaves the new one.
 */
START_TEST(route_moves_between_devices)
{
	const char *prefixes[] = {"10.96.0.0/16", "2001:db8:96::/48"};
	const char *inside[] = {"10.96.3.4", "2001:db8:96::1"};
	char        a[IFNAMSIZ], b[IFNAMSIZ];
	int         fa = open_up("wanpairtest7", a);
	int         fb = open_up("wanpairtest8", b);
	int         ia = (int)if_index(a), ib = (int)if_index(b);
	size_t      i;

	for (i = 0; i < 2; i++) {
		struct wp_prefix p = pfx(prefixes[i]);

		ck_assert_int_eq(route_add(a, &p), 0);
		ck_assert_int_eq(route_get(inside[i]), ia);
		ck_assert_int_eq(route_add(b, &p), 0);
		ck_assert_int_eq(route_get(inside[i]), ib);
		ck_assert_int_eq(route_del(a, &p), 0);
		ck_assert_int_eq(route_get(inside[i]), ib);
		ck_assert_int_eq(route_del(b, &p), 0);
		ck_assert_int_eq(route_get(inside[i]), -ENETUNREACH);
	}
	close(fa);
	close(fb);
}
END_TEST

START_TEST(route_errors)
{
	char             ifname[IFNAMSIZ];
	struct wp_prefix p = pfx("10.95.0.0/24"), bad;
	int              fd;

	ck_assert_int_eq(route_add("nonexistent0", &p), -1);
	ck_assert_int_eq(errno, ENODEV);
	/* A device that is gone has no routes left to remove. */
	ck_assert_int_eq(route_del("nonexistent0", &p), 0);

	/* The kernel wants the device up for an IPv4 route (fib_check_nh). */
	fd = tun_open("wanpairtest9", ifname, sizeof(ifname));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(route_add(ifname, &p), -1);
	ck_assert_int_eq(errno, ENETDOWN);
	ck_assert_int_eq(tun_up(ifname, 1400), 0);

	bad = p;
	bad.len = 33;
	ck_assert_int_eq(route_add(ifname, &bad), -1);
	ck_assert_int_eq(errno, EINVAL);
	bad = p;
	bad.addr.family = 0;
	ck_assert_int_eq(route_add(ifname, &bad), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_int_eq(route_del(ifname, &bad), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);

	/* Host bits are cleared, not refused: 10.95.0.1/24 is 10.95.0.0/24. */
	bad = p;
	bad.addr.a[3] = 1;
	ck_assert_int_eq(route_add(ifname, &bad), 0);
	ck_assert_int_eq(route_get("10.95.0.200"), (int)if_index(ifname));
	ck_assert_int_eq(route_del(ifname, &p), 0);
	ck_assert_int_eq(route_get("10.95.0.200"), -ENETUNREACH);
	close(fd);
}
END_TEST

static uint16_t
ip_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t   i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
set_addr(const char *ifname, unsigned long req, const char *addr)
{
	struct ifreq       ifr;
	struct sockaddr_in sin;
	int                s = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	memset(&sin, 0, sizeof(sin));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	ck_assert_int_eq(ioctl(s, req, &ifr), 0);
	close(s);
}

/*
 * What the daemons rely on: a write is one bare IP packet into the host's
 * stack, and a read is one bare IP packet out of it, version nibble
 * first (IFF_NO_PI).
 */
START_TEST(packets_are_bare_ip)
{
	static const uint8_t far[4] = {10, 94, 0, 2}, near[4] = {10, 94, 0, 1};
	char                 ifname[IFNAMSIZ];
	uint8_t              pkt[2048];
	struct sockaddr_in   sin;
	socklen_t            sl = sizeof(sin);
	struct pollfd        pfd;
	ssize_t              n;
	int                  fd = open_up("wanpairtest10", ifname), s, i;

	set_addr(ifname, SIOCSIFADDR, "10.94.0.1");
	set_addr(ifname, SIOCSIFNETMASK, "255.255.255.0");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5353);
	memcpy(&sin.sin_addr, near, 4);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);

	/* 10.94.0.2:4000 -> 10.94.0.1:5353 "hello", UDP checksum 0. */
	memset(pkt, 0, 33);
	pkt[0] = 0x45;
	pkt[3] = 33;
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, far, 4);
	memcpy(pkt + 16, near, 4);
	pkt[10] = (uint8_t)(ip_cksum(pkt, 20) >> 8);
	pkt[11] = (uint8_t)ip_cksum(pkt, 20);
	pkt[20] = 4000 >> 8;
	pkt[21] = 4000 & 0xff;
	pkt[22] = 5353 >> 8;
	pkt[23] = 5353 & 0xff;
	pkt[25] = 13;
	memcpy(pkt + 28, "hello", 5);
	ck_assert_int_eq(write(fd, pkt, 33), 33);
	pfd.fd = s;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	n = recvfrom(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&sin, &sl);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(pkt, "hello", 5), 0);
	ck_assert_int_eq(memcmp(&sin.sin_addr, far, 4), 0);
	ck_assert_uint_eq(ntohs(sin.sin_port), 4000);

	ck_assert_int_eq(
	    sendto(s, "world", 5, 0, (struct sockaddr *)&sin, sl), 5);
	/* Skip what IPv6 on the device sends by itself (RS, MLD). */
	for (i = 0; i < 20; i++) {
		pfd.fd = fd;
		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
		n = read(fd, pkt, sizeof(pkt));
		ck_assert_int_gt(n, 0);
		if ((pkt[0] >> 4) == 4)
			break;
		ck_assert_uint_eq(pkt[0] >> 4, 6);
	}
	ck_assert_int_eq(n, 33);
	ck_assert_uint_eq(pkt[0], 0x45);
	ck_assert_uint_eq(pkt[9], IPPROTO_UDP);
	ck_assert_int_eq(memcmp(pkt + 12, near, 4), 0);
	ck_assert_int_eq(memcmp(pkt + 16, far, 4), 0);
	ck_assert_int_eq(memcmp(pkt + 28, "world", 5), 0);
	close(s);
	close(fd);
}
END_TEST

/* ------------------------------------------------ carrier events */

struct seen {
	unsigned ifindex[8];
	int      carrier[8];
	int      n;
};

static void
record_event(void *arg, unsigned ifindex, int carrier)
{
	struct seen *sn = arg;

	if (sn->n < 8) {
		sn->ifindex[sn->n] = ifindex;
		sn->carrier[sn->n] = carrier;
	}
	sn->n++;
}

/* One link message of `type` for ifindex with ifi_flags, appended at p. */
static size_t
link_msg(uint8_t *p, uint16_t type, int ifindex, unsigned flags)
{
	struct nlmsghdr  nh;
	struct ifinfomsg ifi;

	memset(&nh, 0, sizeof(nh));
	memset(&ifi, 0, sizeof(ifi));
	nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifi));
	nh.nlmsg_type = type;
	ifi.ifi_index = ifindex;
	ifi.ifi_flags = flags;
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + NLMSG_HDRLEN, &ifi, sizeof(ifi));
	return NLMSG_ALIGN(nh.nlmsg_len);
}

START_TEST(carrier_events_parse)
{
	uint8_t     buf[1024], *cut;
	struct seen sn;
	size_t      len = 0, i;

	/* carrier present, carrier lost (up but no LOWER_UP), deleted, and
	 * a route message in between that is not a link's */
	len += link_msg(buf + len, RTM_NEWLINK, 7, IFF_UP | 0x10000);
	len += link_msg(buf + len, RTM_NEWLINK, 7, IFF_UP);
	len += link_msg(buf + len, RTM_NEWROUTE, 7, 0);
	len += link_msg(buf + len, RTM_DELLINK, 9, IFF_UP | 0x10000);
	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(link_events_parse(buf, len, record_event, &sn), 3);
	ck_assert_int_eq(sn.n, 3);
	ck_assert(sn.ifindex[0] == 7 && sn.carrier[0] == 1);
	ck_assert(sn.ifindex[1] == 7 && sn.carrier[1] == 0);
	ck_assert(sn.ifindex[2] == 9 && sn.carrier[2] == 0);

	/* truncated anywhere: whole messages only, never a read past the
	 * end (exact-size copies, for the sanitizers) */
	for (i = 0; i < len; i++) {
		cut = malloc(i ? i : 1);
		memcpy(cut, buf, i);
		memset(&sn, 0, sizeof(sn));
		ck_assert_int_ge(
		    link_events_parse(cut, i, record_event, &sn), 0);
		ck_assert_int_le(sn.n, 3);
		free(cut);
	}
	/* a header claiming more than there is */
	len = link_msg(buf, RTM_NEWLINK, 3, 0x10000);
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = 4000;
	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(link_events_parse(buf, len, record_event, &sn), 0);
	/* a link message too short for its ifinfomsg */
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = NLMSG_HDRLEN + 4;
	ck_assert_int_eq(link_events_parse(buf, len, record_event, &sn), 0);
	/* garbage */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	memset(&sn, 0, sizeof(sn));
	ck_assert_int_ge(
	    link_events_parse(buf, sizeof(buf), record_event, &sn), 0);
}
END_TEST

/* The real thing: a veth pair in the test's namespace, one end set down,
 * the other loses its carrier and the socket says so. */
START_TEST(carrier_events_live)
{
	uint8_t     buf[8192];
	struct seen sn;
	unsigned    idx;
	ssize_t     n;
	int         fd, i, lost = 0;

	ck_assert_int_eq(
	    system("ip link add wpev0 type veth peer name wpev1 && "
		   "ip link set wpev0 up && ip link set wpev1 up"),
	    0);
	idx = if_index("wpev0");
	ck_assert_uint_gt(idx, 0);
	ck_assert_int_ge(fd = link_events_open(), 0);
	ck_assert_int_eq(system("ip link set wpev1 down"), 0);
	for (i = 0; i < 50 && !lost; i++) {
		struct pollfd pfd = {fd, POLLIN, 0};

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
			memset(&sn, 0, sizeof(sn));
			link_events_parse(buf, (size_t)n, record_event, &sn);
			for (int k = 0; k < sn.n && k < 8; k++)
				if (sn.ifindex[k] == idx && !sn.carrier[k])
					lost = 1;
		}
	}
	close(fd);
	ck_assert_int_eq(system("ip link del wpev0"), 0);
	ck_assert_msg(lost, "no carrier-lost event for wpev0");
}
END_TEST

static Suite *
tun_suite(void)
{
	Suite *s = suite_create("tun");
	TCase *dev = tcase_create("device");
	TCase *rt = tcase_create("routes");

	tcase_add_test(dev, open_gives_named_nonblocking_device);
	tcase_add_test(dev, open_without_name_lets_kernel_choose);
	tcase_add_test(dev, open_errors);
	tcase_add_test(dev, up_sets_mtu_and_up);
	tcase_add_test(dev, interface_queries);
	tcase_add_test(dev, packets_are_bare_ip);
	suite_add_tcase(s, dev);
	tcase_add_test(rt, route_ipv4);
	tcase_add_test(rt, route_ipv6);
	tcase_add_test(rt, route_default);
	tcase_add_test(rt, route_default_ipv6);
	tcase_add_test(rt, route_moves_between_devices);
	tcase_add_test(rt, route_errors);
	suite_add_tcase(s, rt);
	TCase *ev = tcase_create("carrier events");
	tcase_add_test(ev, carrier_events_parse);
	tcase_add_test(ev, carrier_events_live);
	suite_add_tcase(s, ev);
	return s;
}

int
main(void)
{
	struct ifreq ifr;
	int          s;

	if (geteuid() != 0) {
		fprintf(stderr,
		    "check_tun: skipped: needs root "
		    "(a network namespace and TUN devices)\n");
		return 77;
	}
	if (access("/dev/net/tun", R_OK | W_OK) == -1) {
		fprintf(stderr, "check_tun: skipped: /dev/net/tun: %s\n",
		    strerror(errno));
		return 77;
	}
	if (unshare(CLONE_NEWNET) == -1) {
		fprintf(stderr,
		    "check_tun: skipped: unshare(CLONE_NEWNET): %s\n",
		    strerror(errno));
		return 77;
	}
	/* A new namespace has only lo, and it is down. */
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		perror("check_tun: lo");
		return EXIT_FAILURE;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		perror("check_tun: bringing lo up");
		return EXIT_FAILURE;
	}
	close(s);
	return check_run(tun_suite());
}
