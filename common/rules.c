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

/* A prefix as two masked 64-bit words (in memory order, like the
 * address bytes they are compared with). */
struct rule_net {
	uint64_t net[2];
	uint64_t mask[2];
	uint8_t  family;
};

/* A rule as matched: its lists are runs of the set's nets[] and ports[]. */
struct crule {
	uint64_t dscp;
	uint8_t  proto[32];
	int      profile;
	uint8_t  any_proto, nsrc, ndst, nsport, ndport;
	uint32_t src, dst, sport, dport; /* first entry of each run */
};

struct rule_set {
	unsigned long      refs;
	size_t             n;
	struct crule      *r;
	struct rule_net   *nets;
	struct rule_ports *ports;
};

static void
net_compile(struct rule_net *n, const struct wp_prefix *p)
{
	uint8_t  m[16] = {0}, a[16];
	unsigned i;

	for (i = 0; i < p->len && i < 128; i++)
		m[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	for (i = 0; i < 16; i++)
		a[i] = p->addr.a[i] & m[i];
	memcpy(n->net, a, 16);
	memcpy(n->mask, m, 16);
	n->family = p->addr.family;
}

static inline int
in_nets(const struct rule_net *n, unsigned cnt, int family, const uint8_t *a)
{
	uint64_t w[2];
	unsigned i;

	memcpy(w, a, 16);
	for (i = 0; i < cnt; i++)
		if (n[i].family == family &&
		    (((w[0] ^ n[i].net[0]) & n[i].mask[0]) |
			((w[1] ^ n[i].net[1]) & n[i].mask[1])) == 0)
			return 1;
	return 0;
}

static inline int
in_ranges(const struct rule_ports *r, unsigned n, uint16_t port)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return 1;
	return 0;
}

static int
crule_match(
    const struct rule_set *s, const struct crule *r, const struct pkt_info *pi)
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
	if (r->nsport > 0 &&
	    !in_ranges(s->ports + r->sport, r->nsport, pi->sport))
		return 0;
	if (r->ndport > 0 &&
	    !in_ranges(s->ports + r->dport, r->ndport, pi->dport))
		return 0;
	if (r->nsrc > 0 &&
	    !in_nets(s->nets + r->src, r->nsrc, pi->family, pi->src))
		return 0;
	if (r->ndst > 0 &&
	    !in_nets(s->nets + r->dst, r->ndst, pi->family, pi->dst))
		return 0;
	return 1;
}

int
rule_set_match(const struct rule_set *s, const struct pkt_info *pi)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < s->n; i++)
		if (crule_match(s, &s->r[i], pi))
			return (int)i;
	return -1;
}

struct rule_set *
rule_set_new(const struct rule *rules, size_t n)
{
	struct rule_set *s;
	size_t           i, nn = 0, np = 0;
	uint32_t         k, j;

	if (n == 0 || n > RULES_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		nn += (size_t)rules[i].nsrc + rules[i].ndst;
		np += (size_t)rules[i].nsport + rules[i].ndport;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->r = calloc(n, sizeof(*s->r))) == NULL ||
	    (s->nets = calloc(nn > 0 ? nn : 1, sizeof(*s->nets))) == NULL ||
	    (s->ports = calloc(np > 0 ? np : 1, sizeof(*s->ports))) == NULL) {
		if (s != NULL) {
			free(s->r);
			free(s->nets);
		}
		free(s);
		return NULL;
	}
	s->refs = 1;
	s->n = n;
	for (i = 0, k = 0, j = 0; i < n; i++) {
		const struct rule *in = &rules[i];
		struct crule      *r = &s->r[i];
		unsigned           m;

		r->dscp = in->dscp;
		memcpy(r->proto, in->proto, sizeof(r->proto));
		r->profile = in->profile;
		r->any_proto = in->any_proto;
		r->nsrc = in->nsrc < RULE_LIST_MAX ? in->nsrc : RULE_LIST_MAX;
		r->ndst = in->ndst < RULE_LIST_MAX ? in->ndst : RULE_LIST_MAX;
		r->nsport =
		    in->nsport < RULE_LIST_MAX ? in->nsport : RULE_LIST_MAX;
		r->ndport =
		    in->ndport < RULE_LIST_MAX ? in->ndport : RULE_LIST_MAX;
		r->src = k;
		for (m = 0; m < r->nsrc; m++)
			net_compile(&s->nets[k++], &in->src[m]);
		r->dst = k;
		for (m = 0; m < r->ndst; m++)
			net_compile(&s->nets[k++], &in->dst[m]);
		r->sport = j;
		for (m = 0; m < r->nsport; m++)
			s->ports[j++] = in->sport[m];
		r->dport = j;
		for (m = 0; m < r->ndport; m++)
			s->ports[j++] = in->dport[m];
	}
	return s;
}

struct rule_set *
rule_set_ref(struct rule_set *s)
{
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void
rule_set_unref(struct rule_set *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	free(s->r);
	free(s->nets);
	free(s->ports);
	free(s);
}

size_t
rule_set_count(const struct rule_set *s)
{
	return s != NULL ? s->n : 0;
}

int
rule_set_profile(const struct rule_set *s, size_t i)
{
	return s != NULL && i < s->n ? s->r[i].profile : -1;
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
rules_profiles(const struct rule_set *s, int first, int *out)
{
	size_t i, j, n = rule_set_count(s);
	int    k = 0, p;

	if (first >= 0)
		out[k++] = first;
	for (i = 0; i < n; i++) {
		p = rule_set_profile(s, i);
		for (j = 0; j < (size_t)k; j++)
			if (out[j] == p)
				break;
		if (j == (size_t)k)
			out[k++] = p;
	}
	return k;
}
