/*
 * The cluster's bounded send queue; see sendq.h.  A ring of fixed slots,
 * allocated once: a member that cannot send costs at most max slots.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "sendq.h"

struct slot {
	uint16_t len;
	uint8_t  buf[SENDQ_MSG_MAX];
};

struct sendq {
	struct slot *slots;
	size_t       max, head, n;
	uint64_t     overflows;
};

struct sendq *
sendq_new(size_t max)
{
	struct sendq *q;

	if (max == 0 || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->slots = calloc(max, sizeof(*q->slots))) == NULL) {
		free(q);
		return NULL;
	}
	q->max = max;
	return q;
}

void
sendq_free(struct sendq *q)
{
	if (q == NULL)
		return;
	free(q->slots);
	free(q);
}

int
sendq_push(struct sendq *q, const uint8_t *msg, size_t len)
{
	struct slot *s;

	if (len == 0 || len > SENDQ_MSG_MAX)
		return -1;
	if (q->n == q->max) {
		q->overflows++;
		return -1;
	}
	s = &q->slots[(q->head + q->n) % q->max];
	memcpy(s->buf, msg, len);
	s->len = (uint16_t)len;
	q->n++;
	return 0;
}

const uint8_t *
sendq_peek(const struct sendq *q, size_t *len)
{
	if (q->n == 0)
		return NULL;
	*len = q->slots[q->head].len;
	return q->slots[q->head].buf;
}

void
sendq_pop(struct sendq *q)
{
	if (q->n == 0)
		return;
	q->head = (q->head + 1) % q->max;
	q->n--;
}

void
sendq_clear(struct sendq *q)
{
	q->head = q->n = 0;
}

size_t
sendq_depth(const struct sendq *q)
{
	return q->n;
}

size_t
sendq_max(const struct sendq *q)
{
	return q->max;
}

uint64_t
sendq_overflows(const struct sendq *q)
{
	return q->overflows;
}
