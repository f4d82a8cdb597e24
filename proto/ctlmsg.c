#include "autoconf.h"

#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "ctlmsg.h"

static const char *const type_names[] = {
    [CTL_HELLO] = "hello",
    [CTL_WELCOME] = "welcome",
    [CTL_KEEPALIVE] = "keepalive",
    [CTL_LINK_STATE] = "link_state",
    [CTL_REASSIGN] = "reassign",
    [CTL_REKEY] = "rekey",
    [CTL_BYE] = "bye",
    [CTL_REASSIGN_ACK] = "reassign_ack",
};

/* As the protocol's documents and the daemons' messages spell them. */
static const char *const type_tags[] = {
    [CTL_HELLO] = "HELLO",
    [CTL_WELCOME] = "WELCOME",
    [CTL_KEEPALIVE] = "KEEPALIVE",
    [CTL_LINK_STATE] = "LINK_STATE",
    [CTL_REASSIGN] = "REASSIGN",
    [CTL_REKEY] = "REKEY",
    [CTL_BYE] = "BYE",
    [CTL_REASSIGN_ACK] = "REASSIGN_ACK",
};

const char *
ctlmsg_type_name(int type)
{
	if (type < 1 || type > CTL_TYPE_MAX)
		return "unknown";
	return type_names[type];
}

const char *
ctlmsg_type_tag(int type)
{
	if (type < 1 || type > CTL_TYPE_MAX)
		return "UNKNOWN";
	return type_tags[type];
}

int
ctlmsg_frame(const uint8_t *buf, size_t len, struct ctl_frame *f)
{
	struct rbuf b;
	uint32_t    blen;
	uint8_t     type;

	rbuf_init(&b, buf, len);
	if (rbuf_get_u32(&b, &blen) == -1 || rbuf_get_u8(&b, &type) == -1)
		return CTL_NEED_MORE;
	/*
	 * Refused before the body arrives: a peer announcing 4 GiB must not
	 * make the caller buffer anything.
	 */
	if (blen > CTL_MAX_BODY)
		return CTL_ERR_OVERSIZE;
	if (type < 1 || type > CTL_TYPE_MAX)
		return CTL_ERR_TYPE;
	if (rbuf_left(&b) < blen)
		return CTL_NEED_MORE;
	f->type = type;
	f->body = rbuf_ptr(&b);
	f->body_len = blen;
	f->frame_len = CTL_HDR_LEN + (size_t)blen;
	return CTL_OK;
}

size_t
ctlmsg_frame_need(const uint8_t hdr[CTL_HDR_LEN])
{
	struct rbuf b;
	uint32_t    blen = 0;

	rbuf_init(&b, hdr, CTL_HDR_LEN);
	(void)rbuf_peek_u32(&b, 0, &blen);
	return CTL_HDR_LEN + (size_t)blen;
}

/* ------------------------------------------------------------ any type */

int
ctlmsg_decode(
    const struct ctl_frame *f, struct ctl_msg *m, char *err, size_t errlen)
{
	const uint8_t *b = f->body;
	size_t         n = f->body_len;

	memset(m, 0, sizeof(*m));
	m->type = f->type;
	switch (f->type) {
	case CTL_HELLO:
		return ctlmsg_decode_hello(b, n, &m->u.hello, err, errlen);
	case CTL_WELCOME:
		return ctlmsg_decode_welcome(b, n, &m->u.welcome, err, errlen);
	case CTL_KEEPALIVE:
		return ctlmsg_decode_keepalive(b, n, err, errlen);
	case CTL_LINK_STATE:
		return ctlmsg_decode_link_state(
		    b, n, &m->u.link_state, err, errlen);
	case CTL_REKEY:
		return ctlmsg_decode_rekey(b, n, &m->u.rekey, err, errlen);
	case CTL_BYE:
		return ctlmsg_decode_bye(b, n, &m->u.bye, err, errlen);
	case CTL_REASSIGN:
		return ctlmsg_decode_reassign(
		    b, n, &m->u.reassign, err, errlen);
	case CTL_REASSIGN_ACK:
		return ctlmsg_decode_reassign_ack(
		    b, n, &m->u.reassign_ack, err, errlen);
	}
	snprintf(err, errlen, "unknown message type %u", f->type);
	return CTL_ERR_TYPE;
}

void
ctlmsg_msg_free(struct ctl_msg *m)
{
	if (m != NULL && m->type == CTL_REASSIGN)
		ctlmsg_reassign_free(&m->u.reassign);
}

int
ctlmsg_encode(const struct ctl_msg *m, uint8_t **out, size_t *outlen)
{
	switch (m->type) {
	case CTL_HELLO:
		return ctlmsg_encode_hello(&m->u.hello, out, outlen);
	case CTL_WELCOME:
		return ctlmsg_encode_welcome(&m->u.welcome, out, outlen);
	case CTL_KEEPALIVE:
		return ctlmsg_encode_keepalive(out, outlen);
	case CTL_LINK_STATE:
		return ctlmsg_encode_link_state(&m->u.link_state, out, outlen);
	case CTL_REKEY:
		return ctlmsg_encode_rekey(&m->u.rekey, out, outlen);
	case CTL_BYE:
		return ctlmsg_encode_bye(&m->u.bye, out, outlen);
	case CTL_REASSIGN:
		return ctlmsg_encode_reassign(&m->u.reassign, out, outlen);
	case CTL_REASSIGN_ACK:
		return ctlmsg_encode_reassign_ack(
		    &m->u.reassign_ack, out, outlen);
	}
	return -1;
}
