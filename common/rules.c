#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

#define BIT(map, n) (((map)[(n) >> 3] >> ((n)&7)) & 1)

int
rule_proto_has_ports(unsigned proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		return 1;
	default:
		return 0;
	}
}

static int
in_list(const struct wp_prefix *p, unsigned n, int family, const uint8_t *a)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (prefix_contains(&p[i], family, a))
			return 1;
	return 0;
}

static int
in_ranges(const struct rule_ports *r, unsigned n, uint16_t port)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return 1;
	return 0;
}

int
rule_match(const struct rule *r, const struct pkt_info *pi)
{
	if (!r->any_proto && !BIT(r->proto, pi->proto))
		return 0;
	if (r->dscp != 0 && !((r->dscp >> (pi->dscp & 63)) & 1))
		return 0;
	/* An ICMP echo's identifier sits in sport and dport: a port rule
	 * is only for protocols that have ports. */
	if ((r->nsport > 0 || r->ndport > 0) &&
	    !rule_proto_has_ports(pi->proto))
		return 0;
	if (r->nsport > 0 && !in_ranges(r->sport, r->nsport, pi->sport))
		return 0;
	if (r->ndport > 0 && !in_ranges(r->dport, r->ndport, pi->dport))
		return 0;
	if (r->nsrc > 0 && !in_list(r->src, r->nsrc, pi->family, pi->src))
		return 0;
	if (r->ndst > 0 && !in_list(r->dst, r->ndst, pi->family, pi->dst))
		return 0;
	return 1;
}

int
rules_match(const struct rule *r, size_t n, const struct pkt_info *pi)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rule_match(&r[i], pi))
			return (int)i;
	return -1;
}

static const struct {
	const char *name;
	uint8_t     dscp;
} dscp_names[] = {
    /* RFC 2474 4.2.2 (class selectors), RFC 2597 6 (AFxy = 8x + 2y),
     * RFC 3246 (EF), RFC 5865 (VOICE-ADMIT), RFC 8622 (LE). */
    {"DF", 0},
    {"BE", 0},
    {"EF", 46},
    {"VA", 44},
    {"VOICE-ADMIT", 44},
    {"LE", 1},
};

int
rule_dscp_parse(const char *s, unsigned *dscp)
{
	size_t i;

	for (i = 0; i < sizeof(dscp_names) / sizeof(dscp_names[0]); i++)
		if (strcasecmp(s, dscp_names[i].name) == 0) {
			*dscp = dscp_names[i].dscp;
			return 0;
		}
	if ((s[0] == 'C' || s[0] == 'c') && (s[1] == 'S' || s[1] == 's') &&
	    s[2] >= '0' && s[2] <= '7' && s[3] == '\0') {
		*dscp = (unsigned)(s[2] - '0') * 8;
		return 0;
	}
	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'F' || s[1] == 'f') &&
	    s[2] >= '1' && s[2] <= '4' && s[3] >= '1' && s[3] <= '3' &&
	    s[4] == '\0') {
		*dscp = (unsigned)(s[2] - '0') * 8 + (unsigned)(s[3] - '0') * 2;
		return 0;
	}
	return -1;
}

static const struct {
	const char *name;
	uint8_t     proto[2]; /* 0: none (IP protocol 0 is never named) */
} proto_names[] = {
    {"tcp", {IPPROTO_TCP, 0}},
    {"udp", {IPPROTO_UDP, 0}},
    /* One rule for ping of either family. */
    {"icmp", {IPPROTO_ICMP, IPPROTO_ICMPV6}},
    {"icmpv6", {IPPROTO_ICMPV6, 0}},
    {"sctp", {IPPROTO_SCTP, 0}},
    {"udplite", {IPPROTO_UDPLITE, 0}},
    {"dccp", {IPPROTO_DCCP, 0}},
    {"gre", {IPPROTO_GRE, 0}},
    {"esp", {IPPROTO_ESP, 0}},
    {"ah", {IPPROTO_AH, 0}},
};

int
rule_proto_parse(const char *s, uint8_t *bitmap)
{
	size_t i, j;

	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strcasecmp(s, proto_names[i].name) != 0)
			continue;
		for (j = 0; j < 2; j++)
			if (proto_names[i].proto[j] != 0)
				bitmap[proto_names[i].proto[j] >> 3] |=
				    (uint8_t)(1u
					<< (proto_names[i].proto[j] & 7));
		return 0;
	}
	return -1;
}

/* Digits only, at most 65535; *end past them. */
static int
port_num(const char *s, const char **end, uint16_t *out)
{
	unsigned long v = 0;
	const char   *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -1;
	}
	*end = p;
	*out = (uint16_t)v;
	return 0;
}

int
rule_ports_parse(const char *s, struct rule_ports *r)
{
	const char *p;

	if (port_num(s, &p, &r->lo) == -1)
		return -1;
	if (*p == '\0') {
		r->hi = r->lo;
		return 0;
	}
	if (*p != '-' || port_num(p + 1, &p, &r->hi) == -1 || *p != '\0')
		return -1;
	return r->lo > r->hi ? -2 : 0;
}

int
rules_profiles(const struct rule *rules, size_t nrules, int first, int *out)
{
	size_t i, j;
	int    n = 0;

	if (first >= 0)
		out[n++] = first;
	for (i = 0; i < nrules; i++) {
		for (j = 0; j < (size_t)n; j++)
			if (out[j] == rules[i].profile)
				break;
		if (j == (size_t)n)
			out[n++] = rules[i].profile;
	}
	return n;
}
