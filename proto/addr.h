/*
 * IPv4/IPv6 addresses and prefixes.
 *
 * An address is always 16 bytes: IPv4 uses the first 4 and leaves the rest
 * zero, so that flow keys and hashes treat both families alike.
 * Functions return 0 on success, -1 on error; none allocates.
 */
#ifndef WANPAIR_ADDR_H
#define WANPAIR_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_STRLEN   46 /* INET6_ADDRSTRLEN */
#define PREFIX_STRLEN (ADDR_STRLEN + 4)

struct wp_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

struct wp_prefix {
	struct wp_addr addr;
	uint8_t        len; /* 0..32 or 0..128 */
};

/* Parses a numeric address ("198.18.0.1", "2001:db8::1"). */
int addr_parse(const char *, struct wp_addr *);
/* Formats into buf (at least ADDR_STRLEN bytes); returns buf. */
const char *addr_ntop(const struct wp_addr *, char *buf, size_t len);
/* Same, from raw bytes of the given family. */
const char *addr_ntop_raw(int family, const uint8_t *a, char *buf, size_t len);
/*
 * The socket address of `addr` and `port` (host order) in *ss, and its
 * length.  An address of family 0 gives the IPv4 wildcard.  The one
 * conversion every socket of the daemons is opened with.
 */
socklen_t addr_to_sockaddr(
    const struct wp_addr *, uint16_t port, struct sockaddr_storage *ss);
/* The address of an IPv4 or IPv6 socket address (port ignored); -1 for
 * any other family or NULL. */
int addr_from_sockaddr(const struct sockaddr *, struct wp_addr *);
/* Clears every bit after the first `len`. */
void     addr_mask(int family, uint8_t *a, unsigned len);
unsigned addr_bits(int family); /* 32 or 128 */

/*
 * Parses "ADDR/LEN".  A prefix with host bits set is refused, since it
 * almost always means a typo.  On error *why (if not NULL) points to a
 * static sentence saying what is wrong.
 */
int         prefix_parse(const char *, struct wp_prefix *, const char **why);
const char *prefix_ntop(const struct wp_prefix *, char *buf, size_t len);
/* 1 if the address (raw bytes of `family`) lies inside the prefix. */
int prefix_contains(const struct wp_prefix *, int family, const uint8_t *a);

#endif
