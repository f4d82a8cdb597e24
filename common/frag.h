/*
 * Fragment follow-up: later IP fragments carry no ports, so they follow the
 * flow of their datagram.  The first fragment records (family, src, dst,
 * proto, id) -> (sport, dport); later fragments look it up.  A fixed-size
 * direct-mapped table (no probing): memory never grows, old entries are
 * overwritten.  Slots are chosen by SipHash under the cache's own random
 * key, so a sender cannot aim its fragments at another datagram's slot.
 */
#ifndef WANPAIR_FRAG_H
#define WANPAIR_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct frag_cache;

/* `entries` is rounded up to a power of two; NULL on allocation failure. */
struct frag_cache *frag_cache_new(size_t entries, uint32_t timeout_ms);
void               frag_cache_free(struct frag_cache *);

/*
 * Feed every parsed packet.  PKT_FRAG_FIRST is remembered;
 * PKT_FRAG_LATER gets its ports filled in from the cache (returns PKT_OK)
 * or PKT_ERR_FRAG_NO_HEAD if its first fragment was not seen (or expired).
 * Other packets are left alone (PKT_OK).
 */
int frag_cache_resolve(struct frag_cache *, struct pkt_info *, uint64_t now_ms);

#endif
