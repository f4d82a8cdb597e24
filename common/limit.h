/*
 * Bounds on what a control-channel peer may take from popd, as pure
 * accounting: no I/O, no clock of its own (the caller passes now_ms), no
 * allocation.  The daemon decides what to do with each verdict.
 *
 * The pending set holds connections that have not authenticated yet, in
 * accept order, each with its source network: an IPv4 /32, or the /64 of
 * an IPv6 address (one host usually owns a whole /64; an IPv4-mapped
 * IPv6 address counts as its IPv4 address).  Admission follows sshd's
 * MaxStartups: a source already at its cap is refused; when the set is
 * full, its oldest entry is dropped to make room, so a crowd of slow
 * handshakes cannot keep a fast one out.  Entries are the caller's
 * (embedded in its connection struct); the set only links them.
 *
 * The token bucket meters frames: `rate` tokens a second, at most
 * `burst` saved up, one token a frame.
 */
#ifndef WANPAIR_LIMIT_H
#define WANPAIR_LIMIT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* A source network: family AF_INET (4 bytes) or AF_INET6 (the /64). */
struct limit_src {
	uint8_t family;
	uint8_t a[16];
};

/* The source network of a peer's address (AF_INET or AF_INET6; any other
 * family is a zero source, all such peers sharing one). */
void limit_src_from(struct limit_src *, const struct sockaddr *);

struct limit_pending_entry {
	TAILQ_ENTRY(limit_pending_entry) next;
	struct limit_src src;
	int              linked; /* in a set */
};

struct limit_pending {
	TAILQ_HEAD(, limit_pending_entry) q; /* oldest first */
	size_t n;
};

enum limit_verdict {
	LIMIT_ADMIT = 0,    /* room: add it */
	LIMIT_EVICT = 1,    /* full: drop *oldest, then ask again */
	LIMIT_REFUSE_SOURCE /* its source has max_per_source pending */
};

void limit_pending_init(struct limit_pending *);
/*
 * What to do with a new connection from `src` under the two caps (each
 * at least 1).  On LIMIT_EVICT *oldest is the entry the caller must
 * remove (limit_pending_remove(), and close its connection) before asking
 * again: a reload may have lowered max_total below what is pending.
 * Linear in the entries pending, which max_total bounds.
 */
enum limit_verdict limit_pending_check(const struct limit_pending *,
    const struct limit_src *src, size_t max_total, size_t max_per_source,
    struct limit_pending_entry **oldest);
void limit_pending_add(struct limit_pending *, struct limit_pending_entry *,
    const struct limit_src *);
/* Does nothing for an entry in no set. */
void limit_pending_remove(struct limit_pending *, struct limit_pending_entry *);
size_t limit_pending_source_count(
    const struct limit_pending *, const struct limit_src *);

struct limit_bucket {
	uint64_t last_ms;
	uint64_t milli; /* tokens, in thousandths */
};

/* A full bucket at now_ms. */
void limit_bucket_init(struct limit_bucket *, uint64_t now_ms, uint32_t burst);
/* Takes one token: 1 if there was one, else 0 (nothing taken).  rate and
 * burst are passed each time so that a reload applies at once. */
int limit_bucket_take(
    struct limit_bucket *, uint64_t now_ms, uint32_t rate, uint32_t burst);

/*
 * Charges n tokens (bytes read, say) after the fact: the work is done.
 * Returns 0 if the bucket held them, else the milliseconds until it
 * has paid the debt off, during which the caller takes no more (the
 * bucket refills from then on).  rate >= 1.
 */
uint64_t limit_bucket_charge(struct limit_bucket *, uint64_t now_ms,
    uint32_t rate, uint32_t burst, uint32_t n);

#endif
