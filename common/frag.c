#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frag.h"
#include "hash.h"

/*
 * What identifies a datagram's fragments.  IPv4 reassembles on (src, dst,
 * protocol, id) (RFC 791, 3.2).  IPv6 on (src, dst, id) only (RFC 8200,
 * 4.5): a later fragment's Next Header names the first header of the
 * fragmentable part, possibly an extension header, not the upper layer, so
 * proto stays 0 in IPv6 keys and the first fragment's protocol is handed
 * back with the ports.
 */
struct frag_key {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint32_t id;
	uint8_t  family;
	uint8_t  proto;
	uint8_t  pad[2]; /* zero: keys are hashed whole */
};

struct frag_ent {
	struct frag_key key;
	uint64_t        expiry; /* valid while now < expiry */
	uint16_t        sport;
	uint16_t        dport;
	uint8_t         proto; /* the datagram's upper layer */
	uint8_t         used;
};

struct frag_cache {
	struct frag_ent   *ent;
	size_t             mask;
	struct wp_hash_key key; /* peers choose ids and addresses */
	uint32_t           timeout_ms;
};

struct frag_cache *
frag_cache_new(size_t entries, uint32_t timeout_ms)
{
	struct frag_cache *fc;
	size_t             n = 1;

	while (n < entries) {
		if (n > SIZE_MAX / 2) {
			errno = ENOMEM;
			return NULL;
		}
		n <<= 1;
	}
	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	if ((fc->ent = calloc(n, sizeof(*fc->ent))) == NULL ||
	    wp_hash_key_random(&fc->key) == -1) {
		free(fc->ent);
		free(fc);
		return NULL;
	}
	fc->mask = n - 1;
	fc->timeout_ms = timeout_ms;
	return fc;
}

void
frag_cache_free(struct frag_cache *fc)
{
	if (fc == NULL)
		return;
	free(fc->ent);
	free(fc);
}

static struct frag_ent *
frag_slot(struct frag_cache *fc, const struct pkt_info *pi, struct frag_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, pi->src, sizeof(k->src));
	memcpy(k->dst, pi->dst, sizeof(k->dst));
	k->id = pi->frag_id;
	k->family = pi->family;
	k->proto = pi->family == AF_INET6 ? 0 : pi->proto;
	return &fc->ent[wp_siphash(&fc->key, k, sizeof(*k)) & fc->mask];
}

int
frag_cache_resolve(struct frag_cache *fc, struct pkt_info *pi, uint64_t now_ms)
{
	struct frag_ent *e;
	struct frag_key  k;

	switch (pi->frag) {
	case PKT_FRAG_FIRST:
		/* A colliding entry is overwritten: its datagram's later
		 * fragments then go unresolved, as if it had expired. */
		e = frag_slot(fc, pi, &k);
		e->key = k;
		e->expiry = now_ms + fc->timeout_ms;
		e->sport = pi->sport;
		e->dport = pi->dport;
		e->proto = pi->proto;
		e->used = 1;
		return PKT_OK;
	case PKT_FRAG_LATER:
		e = frag_slot(fc, pi, &k);
		if (!e->used || now_ms >= e->expiry ||
		    memcmp(&e->key, &k, sizeof(k)) != 0)
			return PKT_ERR_FRAG_NO_HEAD;
		pi->sport = e->sport;
		pi->dport = e->dport;
		pi->proto = e->proto;
		return PKT_OK;
	default:
		return PKT_OK;
	}
}
