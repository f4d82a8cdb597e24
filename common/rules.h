/*
 * Application rules (wanpair.json(5), RULES): an ordered list that picks
 * a new flow's profile from its first packet by protocol, source and
 * destination prefix, source and destination port range and DSCP; the
 * first rule that matches wins, before the route table's profile.
 *
 * A rule is a fixed-size value, compiled once by the config loader, so
 * that matching on the packet path allocates nothing and costs at most
 * RULES_MAX rules of at most RULE_LIST_MAX prefixes and ranges each.  It
 * is asked only when a flow is created: the flow table remembers the
 * profile and link of the flows it has.
 */
#ifndef WANPAIR_RULES_H
#define WANPAIR_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

/* A flow remembers no rule index (its 96 bytes are full); 255 keeps a
 * rule's index in one byte wherever it is reported. */
#define RULES_MAX     255
#define RULE_LIST_MAX 8  /* prefixes or port ranges in one key */
#define RULE_NAME_MAX 32 /* as a profile's name, with NUL */

struct rule_ports {
	uint16_t lo, hi; /* inclusive */
};

struct rule {
	char              name[RULE_NAME_MAX]; /* "" if unnamed */
	int               profile;             /* index into profiles[] */
	uint8_t           any_proto;           /* no "protocol" key */
	uint8_t           nsrc, ndst, nsport, ndport;
	uint64_t          dscp;      /* bit d: DSCP d matches; 0: any */
	uint8_t           proto[32]; /* bitmap of IP protocol numbers */
	struct wp_prefix  src[RULE_LIST_MAX];
	struct wp_prefix  dst[RULE_LIST_MAX];
	struct rule_ports sport[RULE_LIST_MAX];
	struct rule_ports dport[RULE_LIST_MAX];
};

/*
 * A rule set: rules compiled for matching (each prefix a mask over two
 * 64-bit words, the lists packed) and shared by reference, so that the
 * config, every balancing spec made from it and every balance (popd has
 * one a site) hold one copy.  Immutable once made.  rule_set_new()
 * returns it with one reference, NULL if out of memory or n is 0 (no
 * rules: every function below takes NULL as the empty set); each
 * rule_set_ref() needs a rule_set_unref().
 */
struct rule_set;
struct rule_set *rule_set_new(const struct rule *, size_t n);
struct rule_set *rule_set_ref(struct rule_set *);
void             rule_set_unref(struct rule_set *);
size_t           rule_set_count(const struct rule_set *);
/* Rule i's profile, or -1 if there is no rule i. */
int rule_set_profile(const struct rule_set *, size_t i);
/*
 * The index of the first rule the packet (a flow's first, as this daemon
 * sees it) matches, or -1.  Allocates nothing; costs at most every rule,
 * each at most a protocol bit, a DSCP bit and RULE_LIST_MAX compares per
 * list.
 */
int rule_set_match(const struct rule_set *, const struct pkt_info *);

/*
 * The profiles that get default routes (a config without routes): first
 * (if >= 0), then each rule's profile not yet listed, in rule order, into
 * out[] (room for RULES_MAX + 1).  Returns how many.
 */
int rules_profiles(const struct rule_set *, int first, int *out);

/* 1 if packets of IP protocol `proto` carry ports (TCP, UDP, UDP-Lite,
 * SCTP, DCCP: pkt_parse() reads them). */
int rule_proto_has_ports(unsigned proto);
/*
 * A DSCP name, case-insensitive: DF (or BE, CS0), CS1..CS7, AF11..AF43,
 * EF, VA (VOICE-ADMIT, RFC 5865), LE (RFC 8622).  Returns 0 with *dscp
 * set, or -1.
 */
int rule_dscp_parse(const char *, unsigned *dscp);
/* A protocol name: tcp, udp, icmp (ICMP and ICMPv6), icmpv6, sctp,
 * udplite, dccp, gre, esp, ah.  Sets bits of the bitmap; 0, or -1. */
int rule_proto_parse(const char *, uint8_t *bitmap);
/*
 * A port "5060" or inclusive range "10000-20000".  Returns 0 with *r
 * set, -1 if it is not one, -2 if the range's start is above its end.
 */
int rule_ports_parse(const char *, struct rule_ports *r);

#endif
