#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * 1 if a and b say the same: the whole struct (ctlmsg_decode() zeroes it), or
 * for REASSIGN the fields and the moves behind the pointer.
 */
static int
same(const struct ctl_msg *a, const struct ctl_msg *b)
{
	const struct ctl_reassign *x = &a->u.reassign, *y = &b->u.reassign;

	if (a->type != b->type)
		return 0;
	if (a->type != CTL_REASSIGN)
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
 * connection would, decode each through ctlmsg_decode() (the frame's type
 * byte chooses the message, so one target covers every decoder), and for every message accepted check
 * that it encodes, that the frame says what it is, and that it decodes
 * back to the same struct (decoders zero theirs first, so padding is
 * equal).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_frame f, g;
	struct ctl_msg   m, back;
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
		rc = ctlmsg_decode(&f, &m, err, sizeof(err));
		if (rc == CTL_ERR_BODY) {
			check_err(err);
			continue;
		}
		if (rc != CTL_OK)
			abort();
		if (ctlmsg_encode(&m, &out, &outlen) == -1)
			abort();
		if (ctlmsg_frame(out, outlen, &g) != CTL_OK ||
		    g.type != f.type || g.frame_len != outlen)
			abort();
		if (ctlmsg_decode(&g, &back, err, sizeof(err)) != CTL_OK ||
		    !same(&m, &back))
			abort();
		ctlmsg_msg_free(&m);
		ctlmsg_msg_free(&back);
		free(out);
	}
	return 0;
}
