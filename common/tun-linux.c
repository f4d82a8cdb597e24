#include "autoconf.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tun.h"

/* TUN_F_USO4/6 (Linux 6.2): Debian 12's headers lack them. */
#define TUN_F_USO4_BITS 0x20
#define TUN_F_USO6_BITS 0x40

/*
 * Fills ifr with the name, refusing one that does not fit: the kernel
 * reads at most IFNAMSIZ bytes, so a truncated name would silently
 * address another interface.
 */
static int
ifreq_init(struct ifreq *ifr, const char *ifname)
{
	size_t len = strlen(ifname);

	memset(ifr, 0, sizeof(*ifr));
	if (len >= sizeof(ifr->ifr_name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(ifr->ifr_name, ifname, len);
	return 0;
}

/*
 * The netdevice ioctls (netdevice(7)) need a socket, any socket; the
 * interface is named in the ifreq.  errno is that of the ioctl.
 */
static int
if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd, rc, saved;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	rc = ioctl(fd, req, ifr);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
tun_open(const char *name, char *ifname, size_t ifnamelen)
{
	return tun_open_vnet(name, ifname, ifnamelen, 0);
}

int
tun_open_vnet(const char *name, char *ifname, size_t ifnamelen, int vnet)
{
	return tun_open_queue(name, ifname, ifnamelen, vnet, 0);
}

int
tun_open_queue(
    const char *name, char *ifname, size_t ifnamelen, int vnet, int mq)
{
	struct ifreq ifr;
	size_t       len;
	int          fd = -1, saved;

	if (ifnamelen < IFNAMSIZ) {
		errno = EINVAL;
		return -1;
	}
	/* "%d" makes the kernel pick the first free number. */
	if (name == NULL || *name == '\0')
		name = "wanpair%d";
	if (ifreq_init(&ifr, name) == -1)
		return -1;
	/*
	 * IFF_NO_PI: without it every packet carries a 4-byte
	 * flags/protocol header.  We never need it, since the version
	 * nibble of the IP header says IPv4 or IPv6, and without it a read
	 * or write is exactly one IP packet.
	 *
	 * IFF_VNET_HDR: a virtio_net_hdr before each packet (common/vnet.h),
	 * which with TUNSETOFFLOAD (tun_offload()) lets the kernel hand us
	 * and take 64 KiB super-segments.
	 */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
	    (mq ? IFF_MULTI_QUEUE : 0);
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1)
		goto fail;
	/*
	 * Attaches to the device of that name, creating it if there is none
	 * (CAP_NET_ADMIN); fails with EINVAL if it exists but is not a TUN
	 * device with these flags, EBUSY if another fd holds it.
	 */
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		goto fail;
	/* The kernel's name is NUL-terminated within IFNAMSIZ. */
	len = strnlen(ifr.ifr_name, sizeof(ifr.ifr_name) - 1);
	memcpy(ifname, ifr.ifr_name, len);
	ifname[len] = '\0';
	return fd;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}

int
tun_offload(int fd, unsigned want)
{
	unsigned uso = TUN_F_USO4_BITS | TUN_F_USO6_BITS;

	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)want) == 0)
		return (int)want;
	/* Before Linux 6.2 the USO bits are unknown: EINVAL.  TSO alone
	 * is still worth having. */
	if (errno == EINVAL && (want & uso) != 0 &&
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)(want & ~uso)) == 0)
		return (int)(want & ~uso);
	return -1;
}

/*
 * The queue of a packet the kernel sends into the device: a hash of its
 * addresses and, but for a fragment, its TCP, UDP, UDP-Lite or SCTP
 * ports, the same both ways; anything shorter or other goes by address
 * or to queue 0.  (eBPF, for the legacy packet loads a socket filter
 * may use: LD_ABS and LD_IND read big-endian from the IP header, r6
 * holding the context.)
 */
static const struct bpf_insn steer_prog[] = {
    {BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0}, /* ctx for LD_ABS */
    {BPF_ALU64 | BPF_MOV | BPF_K, 9, 0, 0, 0}, /* the hash */
    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 0, 0},    /* version, IHL */
    {BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0},
    {BPF_ALU64 | BPF_RSH | BPF_K, 7, 0, 0, 4},
    {BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 22, 6},
    {BPF_JMP | BPF_JNE | BPF_K, 7, 0, 47, 4},
    {BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0xf},
    {BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 2},
    {BPF_ALU64 | BPF_MOV | BPF_X, 8, 0, 0, 0}, /* IPv4 header length */
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 12},   /* source */
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 16}, /* destination */
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_H | BPF_ABS, 0, 0, 0, 6}, /* flags, fragment offset */
    {BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0x3fff},
    {BPF_JMP | BPF_JNE | BPF_K, 0, 0, 37, 0},
    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 0, 9}, /* protocol */
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4, 6},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 17},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 132},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 136},
    {BPF_JMP | BPF_JA, 0, 0, 31, 0},
    {BPF_LD | BPF_H | BPF_IND, 0, 8, 0, 0}, /* ports */
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_H | BPF_IND, 0, 8, 0, 2},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_JMP | BPF_JA, 0, 0, 26, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 8}, /* addresses */
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 12},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 16},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 20},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 24},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 28},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 32},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0, 36},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_B | BPF_ABS, 0, 0, 0, 6}, /* next header */
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4, 6},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 17},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 132},
    {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 136},
    {BPF_JMP | BPF_JA, 0, 0, 4, 0},
    {BPF_LD | BPF_H | BPF_ABS, 0, 0, 0, 40}, /* ports */
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_LD | BPF_H | BPF_ABS, 0, 0, 0, 42},
    {BPF_ALU64 | BPF_XOR | BPF_X, 9, 0, 0, 0},
    {BPF_ALU | BPF_MUL | BPF_K, 9, 0, 0, -1640531535}, /* 0x9e3779b1 */
    {BPF_ALU64 | BPF_MOV | BPF_X, 0, 9, 0, 0},
    {BPF_ALU | BPF_RSH | BPF_K, 0, 0, 0,
	16}, /* the queue: tun takes 16 bits mod queues */
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

int
tun_steer_flows(int fd)
{
	union bpf_attr a;
	int            pfd, rc, saved;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)steer_prog;
	a.insn_cnt = sizeof(steer_prog) / sizeof(steer_prog[0]);
	a.license = (uint64_t)(uintptr_t) "ISC";
	if ((pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a))) == -1)
		return -1;
	rc = ioctl(fd, TUNSETSTEERINGEBPF, &pfd);
	saved = errno;
	close(pfd); /* the device holds the program */
	errno = saved;
	return rc;
}

int
tun_up(const char *ifname, int mtu)
{
	struct ifreq ifr;

	/*
	 * The MTU first, so that nothing sees the device up with the
	 * default 1500: IPv6 addrconf decides at IFF_UP whether the device
	 * can carry IPv6 at all (RFC 8200 section 5: at least 1280).
	 */
	if (ifreq_init(&ifr, ifname) == -1)
		return -1;
	ifr.ifr_mtu = mtu;
	if (if_ioctl(SIOCSIFMTU, &ifr) == -1)
		return -1;
	if (if_ioctl(SIOCGIFFLAGS, &ifr) == -1)
		return -1;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

int
if_get_mtu(const char *ifname)
{
	struct ifreq ifr;

	if (ifreq_init(&ifr, ifname) == -1)
		return -1;
	if (if_ioctl(SIOCGIFMTU, &ifr) == -1)
		return -1;
	return ifr.ifr_mtu;
}

unsigned
if_index(const char *ifname)
{
	return if_nametoindex(ifname);
}
