#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

unsigned
addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

socklen_t
addr_to_sockaddr(
    const struct wp_addr *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in  *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->a, 16);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr, addr->a, 4);
	return sizeof(*sin);
}

int
addr_from_sockaddr(const struct sockaddr *sa, struct wp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa != NULL && sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		out->family = AF_INET6;
		memcpy(
		    out->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int
addr_parse(const char *s, struct wp_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -1;
}

const char *
addr_ntop_raw(int family, const uint8_t *a, char *buf, size_t len)
{
	if (inet_ntop(family, a, buf, len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
addr_ntop(const struct wp_addr *addr, char *buf, size_t len)
{
	return addr_ntop_raw(addr->family, addr->a, buf, len);
}

void
addr_mask(int family, uint8_t *a, unsigned len)
{
	unsigned bytes = addr_bits(family) / 8, i;

	for (i = 0; i < bytes; i++) {
		if (len >= 8)
			len -= 8;
		else {
			a[i] &= (uint8_t)(0xff00 >> len);
			len = 0;
		}
	}
}

int
prefix_parse(const char *s, struct wp_prefix *out, const char **why)
{
	char           buf[PREFIX_STRLEN], *slash, *end;
	struct wp_addr masked;
	unsigned long  len;
	const char    *dummy;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf)) {
		*why = "not a prefix (ADDRESS/LENGTH)";
		return -1;
	}
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) == NULL) {
		*why = "not a prefix (ADDRESS/LENGTH): the /LENGTH is missing";
		return -1;
	}
	*slash++ = '\0';
	if (addr_parse(buf, &out->addr) == -1) {
		*why = "not a prefix (ADDRESS/LENGTH): bad address";
		return -1;
	}
	/*
	 * Only plain decimal: strtoul() alone would take "+8", " 8" and
	 * "08".  Saying "must be 0..32" to someone who wrote "8x" would send
	 * them looking at the wrong thing, so shape and range differ.
	 */
	len = strtoul(slash, &end, 10);
	if (*slash < '0' || *slash > '9' || *end != '\0' ||
	    (slash[0] == '0' && slash[1] != '\0')) {
		*why = "not a prefix (ADDRESS/LENGTH): bad length";
		return -1;
	}
	if (len > addr_bits(out->addr.family)) {
		*why = out->addr.family == AF_INET
		    ? "not a prefix: length must be 0..32"
		    : "not a prefix: length must be 0..128";
		return -1;
	}
	out->len = (uint8_t)len;
	masked = out->addr;
	addr_mask(masked.family, masked.a, out->len);
	if (memcmp(masked.a, out->addr.a, sizeof(masked.a)) != 0) {
		*why = "host bits set after the prefix length";
		return -1;
	}
	return 0;
}

const char *
prefix_ntop(const struct wp_prefix *p, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	snprintf(buf, len, "%s/%u", addr_ntop(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

int
prefix_contains(const struct wp_prefix *p, int family, const uint8_t *a)
{
	unsigned full, rest;

	if (p->addr.family != family)
		return 0;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(p->addr.a, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->addr.a[full] ^ a[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}
