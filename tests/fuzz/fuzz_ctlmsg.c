#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

union msg {
	struct ctl_hello        hello;
	struct ctl_welcome      welcome;
	struct ctl_link_state   link_state;
	struct ctl_rekey        rekey;
	struct ctl_bye          bye;
	struct ctl_reassign     reassign;
	struct ctl_reassign_ack reassign_ack;
};

/* CTL_OK or CTL_ERR_BODY; -100 for a type without a decoder. */
static int
decode(int type, const uint8_t *body, size_t len, union msg *m, char *err)
{
	memset(m, 0, sizeof(*m));
	switch (type) {
	case CTL_HELLO:
		return ctlmsg_decode_hello(
		    body, len, &m->hello, err, CTL_ERRLEN);
	case CTL_WELCOME:
		return ctlmsg_decode_welcome(
		    body, len, &m->welcome, err, CTL_ERRLEN);
	case CTL_KEEPALIVE:
		return ctlmsg_decode_keepalive(body, len, err, CTL_ERRLEN);
	case CTL_LINK_STATE:
		return ctlmsg_decode_link_state(
		    body, len, &m->link_state, err, CTL_ERRLEN);
	case CTL_REKEY:
		return ctlmsg_decode_rekey(
		    body, len, &m->rekey, err, CTL_ERRLEN);
	case CTL_BYE:
		return ctlmsg_decode_bye(body, len, &m->bye, err, CTL_ERRLEN);
	case CTL_REASSIGN:
		return ctlmsg_decode_reassign(
		    body, len, &m->reassign, err, CTL_ERRLEN);
	case CTL_REASSIGN_ACK:
		return ctlmsg_decode_reassign_ack(
		    body, len, &m->reassign_ack, err, CTL_ERRLEN);
	}
	return -100;
}

static int
encode(int type, const union msg *m, uint8_t **out, size_t *outlen)
{
	switch (type) {
	case CTL_HELLO:
		return ctlmsg_encode_hello(&m->hello, out, outlen);
	case CTL_WELCOME:
		return ctlmsg_encode_welcome(&m->welcome, out, outlen);
	case CTL_KEEPALIVE:
		return ctlmsg_encode_keepalive(out, outlen);
	case CTL_LINK_STATE:
		return ctlmsg_encode_link_state(&m->link_state, out, outlen);
	case CTL_REKEY:
		return ctlmsg_encode_rekey(&m->rekey, out, outlen);
	case CTL_BYE:
		return ctlmsg_encode_bye(&m->bye, out, outlen);
	case CTL_REASSIGN:
		return ctlmsg_encode_reassign(&m->reassign, out, outlen);
	case CTL_REASSIGN_ACK:
		return ctlmsg_encode_reassign_ack(
		    &m->reassign_ack, out, outlen);
	}
	return -1;
}

/*
 * 1 if a and b say the same: the whole union (decoders zero it first), or
 * for REASSIGN the fields and the moves behind the pointer.
 */
static int
same(int type, const union msg *a, const union msg *b)
{
	const struct ctl_reassign *x = &a->reassign, *y = &b->reassign;

	if (type != CTL_REASSIGN)
		return memcmp(a, b, sizeof(*a)) == 0;
	return x->dead_link == y->dead_link && x->seq == y->seq &&
	    x->last == y->last && x->total == y->total &&
	    x->nmoves == y->nmoves && x->nmoves <= CTL_MAX_MOVES &&
	    (x->nmoves == 0 ||
		memcmp(x->moves, y->moves, x->nmoves * sizeof(*x->moves)) == 0);
}

/* A refusal is one printable line that fits in CTL_ERRLEN. */
static void
check_err(const char *err)
{
	const unsigned char *p;

	if (err[0] == '\0' || strlen(err) >= CTL_ERRLEN)
		abort();
	for (p = (const unsigned char *)err; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f)
			abort();
}

/*
 * The input is a byte stream from a peer: take frames off its front as a
 * connection would, decode each, and for every message accepted check
 * that it encodes, that the frame says what it is, and that it decodes
 * back to the same struct (decoders zero theirs first, so padding is
 * equal).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_frame f, g;
	union msg        m, back;
	uint8_t         *out;
	size_t           outlen, off = 0;
	char             err[CTL_ERRLEN];
	int              rc;

	while (off < size) {
		rc = ctlmsg_frame(data + off, size - off, &f);
		if (rc == CTL_NEED_MORE)
			break;
		if (rc == CTL_ERR_OVERSIZE || rc == CTL_ERR_TYPE) {
			if (size - off < CTL_HDR_LEN)
				abort(); /* decided before the header */
			break;
		}
		if (rc != CTL_OK || f.frame_len > size - off ||
		    f.frame_len != CTL_HDR_LEN + f.body_len ||
		    f.body != data + off + CTL_HDR_LEN || f.type < 1 ||
		    f.type > CTL_TYPE_MAX)
			abort();
		off += f.frame_len;

		err[0] = '\0';
		rc = decode(f.type, f.body, f.body_len, &m, err);
		if (rc == -100)
			continue;
		if (rc == CTL_ERR_BODY) {
			check_err(err);
			continue;
		}
		if (rc != CTL_OK)
			abort();
		if (encode(f.type, &m, &out, &outlen) == -1)
			abort();
		if (ctlmsg_frame(out, outlen, &g) != CTL_OK ||
		    g.type != f.type || g.frame_len != outlen)
			abort();
		if (decode(g.type, g.body, g.body_len, &back, err) != CTL_OK ||
		    !same(f.type, &m, &back))
			abort();
		if (f.type == CTL_REASSIGN) {
			ctlmsg_reassign_free(&m.reassign);
			ctlmsg_reassign_free(&back.reassign);
		}
		free(out);
	}
	return 0;
}
