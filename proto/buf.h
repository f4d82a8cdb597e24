/*
 * Bounded reader over bytes a peer controls, and its writer.
 *
 * Every getter checks the remaining length first and, on failure, returns
 * -1 without consuming anything, so a parser can never read past the end
 * and a caller can try another interpretation.  Integers are big-endian
 * (network order).  Never cast a struct over packet bytes: read fields.
 * The reader does not own the bytes it points to.
 *
 * The writer (struct wbuf) is the reader's mirror, as OpenSSH's sshbuf
 * pairs sshbuf_get_u32() with sshbuf_put_u32(): every rbuf_get_X() has a
 * wbuf_put_X() that writes what it reads, into a caller's fixed array,
 * and fails (-1, nothing written) rather than run past its end.  POKE_X()
 * writes, and PEEK_X() reads, at a known place in an array the caller has
 * already checked.
 * This is the one place for byte order: no hand-rolled put32 elsewhere.
 */
#ifndef WANPAIR_BUF_H
#define WANPAIR_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rbuf {
	const uint8_t *p;
	size_t         len; /* bytes in the buffer */
	size_t         off; /* bytes consumed */
};

static inline void
rbuf_init(struct rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
}

static inline size_t
rbuf_left(const struct rbuf *b)
{
	return b->len - b->off;
}

static inline const uint8_t *
rbuf_ptr(const struct rbuf *b)
{
	return b->p + b->off;
}

static inline int
rbuf_skip(struct rbuf *b, size_t n)
{
	if (rbuf_left(b) < n)
		return -1;
	b->off += n;
	return 0;
}

/* Moves to an absolute offset from the start; fails past the end. */
static inline int
rbuf_seek(struct rbuf *b, size_t off)
{
	if (off > b->len)
		return -1;
	b->off = off;
	return 0;
}

static inline int
rbuf_get_bytes(struct rbuf *b, void *out, size_t n)
{
	if (rbuf_left(b) < n)
		return -1;
	memcpy(out, b->p + b->off, n);
	b->off += n;
	return 0;
}

static inline int
rbuf_peek_u8(const struct rbuf *b, size_t at, uint8_t *v)
{
	if (rbuf_left(b) < at + 1)
		return -1;
	*v = b->p[b->off + at];
	return 0;
}

static inline int
rbuf_peek_u16(const struct rbuf *b, size_t at, uint16_t *v)
{
	const uint8_t *q;

	if (rbuf_left(b) < at + 2)
		return -1;
	q = b->p + b->off + at;
	*v = (uint16_t)(q[0] << 8 | q[1]);
	return 0;
}

static inline int
rbuf_peek_u32(const struct rbuf *b, size_t at, uint32_t *v)
{
	const uint8_t *q;

	if (rbuf_left(b) < at + 4)
		return -1;
	q = b->p + b->off + at;
	*v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 |
	    q[3];
	return 0;
}

static inline int
rbuf_get_u8(struct rbuf *b, uint8_t *v)
{
	if (rbuf_peek_u8(b, 0, v) == -1)
		return -1;
	b->off += 1;
	return 0;
}

static inline int
rbuf_get_u16(struct rbuf *b, uint16_t *v)
{
	if (rbuf_peek_u16(b, 0, v) == -1)
		return -1;
	b->off += 2;
	return 0;
}

static inline int
rbuf_get_u32(struct rbuf *b, uint32_t *v)
{
	if (rbuf_peek_u32(b, 0, v) == -1)
		return -1;
	b->off += 4;
	return 0;
}

static inline int
rbuf_get_u64(struct rbuf *b, uint64_t *v)
{
	uint32_t hi, lo;

	if (rbuf_peek_u32(b, 0, &hi) == -1 || rbuf_peek_u32(b, 4, &lo) == -1)
		return -1;
	b->off += 8;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* PEEK_X() reads at a known place in an array the caller has already
 * checked, as POKE_X() writes there. */
static inline uint16_t
PEEK_U16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
PEEK_U32(const uint8_t *p)
{
	return (uint32_t)PEEK_U16(p) << 16 | PEEK_U16(p + 2);
}

/* ------------------------------------------------------------ writer */

static inline void
POKE_U16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
POKE_U32(uint8_t *p, uint32_t v)
{
	POKE_U16(p, (uint16_t)(v >> 16));
	POKE_U16(p + 2, (uint16_t)v);
}

static inline void
POKE_U64(uint8_t *p, uint64_t v)
{
	POKE_U32(p, (uint32_t)(v >> 32));
	POKE_U32(p + 4, (uint32_t)v);
}

struct wbuf {
	uint8_t *p;
	size_t   size; /* room in the buffer */
	size_t   len;  /* bytes written */
};

static inline void
wbuf_init(struct wbuf *b, void *p, size_t size)
{
	b->p = p;
	b->size = size;
	b->len = 0;
}

static inline size_t
wbuf_room(const struct wbuf *b)
{
	return b->size - b->len;
}

static inline int
wbuf_put_bytes(struct wbuf *b, const void *v, size_t n)
{
	if (wbuf_room(b) < n)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, v, n);
	b->len += n;
	return 0;
}

static inline int
wbuf_put_u8(struct wbuf *b, uint8_t v)
{
	if (wbuf_room(b) < 1)
		return -1;
	b->p[b->len++] = v;
	return 0;
}

static inline int
wbuf_put_u16(struct wbuf *b, uint16_t v)
{
	if (wbuf_room(b) < 2)
		return -1;
	POKE_U16(b->p + b->len, v);
	b->len += 2;
	return 0;
}

static inline int
wbuf_put_u32(struct wbuf *b, uint32_t v)
{
	if (wbuf_room(b) < 4)
		return -1;
	POKE_U32(b->p + b->len, v);
	b->len += 4;
	return 0;
}

static inline int
wbuf_put_u64(struct wbuf *b, uint64_t v)
{
	if (wbuf_room(b) < 8)
		return -1;
	POKE_U64(b->p + b->len, v);
	b->len += 8;
	return 0;
}

#endif
