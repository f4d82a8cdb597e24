#include "autoconf.h"

#include <netinet/in.h>

#include <string.h>

#include "limit.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void
limit_src_from(struct limit_src *s, const struct sockaddr *sa)
{
	const struct sockaddr_in  *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t             *a6;

	memset(s, 0, sizeof(*s));
	if (sa->sa_family == AF_INET) {
		s->family = AF_INET;
		memcpy(s->a, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a6 = (const uint8_t *)&sin6->sin6_addr;
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			s->family = AF_INET;
			memcpy(s->a, a6 + 12, 4);
		} else {
			s->family = AF_INET6;
			memcpy(s->a, a6, 8); /* the /64 */
		}
	}
}

static int
src_eq(const struct limit_src *a, const struct limit_src *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

void
limit_pending_init(struct limit_pending *p)
{
	TAILQ_INIT(&p->q);
	p->n = 0;
}

size_t
limit_pending_source_count(
    const struct limit_pending *p, const struct limit_src *src)
{
	const struct limit_pending_entry *e;
	size_t                            n = 0;

	TAILQ_FOREACH(e, &p->q, next)
	{
		n += src_eq(&e->src, src);
	}
	return n;
}

enum limit_verdict
limit_pending_check(const struct limit_pending *p, const struct limit_src *src,
    size_t max_total, size_t max_per_source,
    struct limit_pending_entry **oldest)
{
	*oldest = NULL;
	/* The source first: evicting someone else's handshake to admit a
	 * source that is over its own cap would help only that source. */
	if (limit_pending_source_count(p, src) >= max_per_source)
		return LIMIT_REFUSE_SOURCE;
	if (p->n >= max_total && (*oldest = TAILQ_FIRST(&p->q)) != NULL)
		return LIMIT_EVICT;
	return LIMIT_ADMIT;
}

void
limit_pending_add(struct limit_pending *p, struct limit_pending_entry *e,
    const struct limit_src *src)
{
	e->src = *src;
	e->linked = 1;
	TAILQ_INSERT_TAIL(&p->q, e, next);
	p->n++;
}

void
limit_pending_remove(struct limit_pending *p, struct limit_pending_entry *e)
{
	if (!e->linked)
		return;
	TAILQ_REMOVE(&p->q, e, next);
	e->linked = 0;
	p->n--;
}

void
limit_bucket_init(struct limit_bucket *b, uint64_t now_ms, uint32_t burst)
{
	b->last_ms = now_ms;
	b->milli = (uint64_t)burst * 1000;
}

/* Adds what rate has refilled since last_ms, up to burst. */
static void
refill(struct limit_bucket *b, uint64_t now_ms, uint32_t rate, uint32_t burst)
{
	uint64_t cap = (uint64_t)burst * 1000, dt;

	/* rate tokens a second is rate thousandths a millisecond. */
	if (now_ms > b->last_ms) {
		dt = now_ms - b->last_ms;
		/* Past a full refill the product could only overflow. */
		if (dt >= cap / (rate > 0 ? rate : 1) + 1)
			b->milli = cap;
		else
			b->milli += dt * rate;
		b->last_ms = now_ms;
	}
	if (b->milli > cap) /* a reload lowered the burst */
		b->milli = cap;
}

uint64_t
limit_bucket_charge(struct limit_bucket *b, uint64_t now_ms, uint32_t rate,
    uint32_t burst, uint32_t n)
{
	uint64_t need = (uint64_t)n * 1000, wait;

	refill(b, now_ms, rate, burst);
	if (b->milli >= need) {
		b->milli -= need;
		return 0;
	}
	/* The debt is paid off by refilling from a later start. */
	wait = (need - b->milli + rate - 1) / rate;
	b->milli = 0;
	b->last_ms = (now_ms > b->last_ms ? now_ms : b->last_ms) + wait;
	return b->last_ms - now_ms;
}

int
limit_bucket_take(
    struct limit_bucket *b, uint64_t now_ms, uint32_t rate, uint32_t burst)
{
	refill(b, now_ms, rate, burst);
	if (b->milli < 1000)
		return 0;
	b->milli -= 1000;
	return 1;
}
