#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"
#include "flow.h"
#include "proto.h"
#include "check_rng.h"
#include "check_run.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ck_assert writes on every pass; in hot loops only check on failure. */
#define QUIET_ASSERT(cond, ...)                                                \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

/*
 * A heap block of exactly len bytes, so that ASan reports any read past
 * what the parser was given.
 */
static uint8_t *
exact_copy(const void *p, size_t len)
{
	uint8_t *q;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

/*
 * Decodes a body as `type` through ctlmsg_decode(), the daemons' one
 * entry point: CTL_OK, CTL_ERR_BODY, or -100 (no such type).
 */
static int
decode(int type, const uint8_t *body, size_t len, union ctl_body *m, char *err,
    size_t errlen)
{
	struct ctl_frame f = {(uint8_t)type, body, len, CTL_HDR_LEN + len};
	struct ctl_msg   cm;
	int              rc;

	rc = ctlmsg_decode(&f, &cm, err, errlen);
	memcpy(m, &cm.u, sizeof(*m));
	return rc == CTL_ERR_TYPE ? -100 : rc;
}

/* Frees what a decoder allocated in m (only REASSIGN allocates). */
static void
release(int type, union ctl_body *m)
{
	if (type == CTL_REASSIGN)
		ctlmsg_reassign_free(&m->reassign);
}

/*
 * 1 if a and b say the same.  Decoders zero the whole union first, and
 * REASSIGN's moves are compared through the pointer.
 */
static int
same(int type, const union ctl_body *a, const union ctl_body *b)
{
	const struct ctl_reassign *x = &a->reassign, *y = &b->reassign;

	if (type != CTL_REASSIGN)
		return memcmp(a, b, sizeof(*a)) == 0;
	return x->dead_link == y->dead_link && x->seq == y->seq &&
	    x->last == y->last && x->total == y->total &&
	    x->nmoves == y->nmoves &&
	    (x->nmoves == 0 ||
		memcmp(x->moves, y->moves, x->nmoves * sizeof(*x->moves)) == 0);
}

static int
encode(int type, const union ctl_body *m, uint8_t **out, size_t *outlen)
{
	struct ctl_msg cm;

	cm.type = (uint8_t)type;
	memcpy(&cm.u, m, sizeof(*m));
	return ctlmsg_encode(&cm, out, outlen);
}

/* Decodes a NUL-terminated body from an exact heap copy. */
static int
decode_str(int type, const char *body, union ctl_body *m, char *err)
{
	uint8_t *q;
	int      rc;

	q = exact_copy(body, strlen(body));
	err[0] = '\0';
	rc = decode(type, q, strlen(body), m, err, CTL_ERRLEN);
	free(q);
	return rc;
}

static void
add_link(struct ctl_hello *h, const char *name, uint8_t id, uint32_t up,
    uint32_t down)
{
	struct ctl_link *l = &h->links[h->nlinks++];

	snprintf(l->name, sizeof(l->name), "%s", name);
	l->id = id;
	l->up_mbps = up;
	l->down_mbps = down;
}

static void
add_lan(struct ctl_hello *h, const char *prefix)
{
	ck_assert_int_eq(prefix_parse(prefix, &h->lan[h->nlan++], NULL), 0);
}

/* The HELLO of DESIGN.md section 6, as a branch would send it. */
static void
small_hello(struct ctl_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version = PROTOCOL_VERSION;
	h->workers = 1;
	snprintf(h->site, sizeof(h->site), "branch-17");
	add_link(h, "WAN1", 0, 100, 100);
	add_lan(h, "10.1.0.0/24");
	add_lan(h, "2001:db8:1::/64");
}

static const char small_hello_json[] =
    "{\"version\":2,\"workers\":1,\"site\":\"branch-17\",\"links\":[{\"name\":"
    "\"WAN1\","
    "\"id\":0,\"up_mbps\":100,\"down_mbps\":100}],\"lan\":[\"10.1.0.0/"
    "24\",\"2001:db8:1::/64\"]}";

/* Every limit at once: 32 links, 256 prefixes, the longest names. */
static void
big_hello(struct ctl_hello *h)
{
	char   name[PROTO_NAME_MAX], prefix[PREFIX_STRLEN];
	size_t i;

	memset(h, 0, sizeof(*h));
	h->version = PROTOCOL_VERSION;
	h->workers = PROTO_MAX_WORKERS;
	memset(h->site, 'S', sizeof(h->site) - 1);
	/* Sites are free text: spaces and UTF-8 are fine. */
	memcpy(h->site, "Zürich Nord ", 13);
	for (i = 0; i < PROTO_MAX_LINKS; i++) {
		memset(name, 'a' + (int)i % 26, sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		snprintf(name, 4, "%02zu.", i);
		name[3] = '_';
		add_link(h, name, (uint8_t)(PROTO_MAX_LINKS - 1 - i),
		    i % 2 ? 1 : 1000000, (uint32_t)(i + 1));
	}
	for (i = 0; i < CTL_MAX_LAN; i++) {
		if (i % 2)
			snprintf(
			    prefix, sizeof(prefix), "2001:db8:%zx::/48", i);
		else
			snprintf(prefix, sizeof(prefix), "10.%zu.0.0/16", i);
		add_lan(h, prefix);
	}
}

/*
 * Encodes m, checks the frame's header, decodes the body and compares
 * the result with m byte for byte (decoders zero the struct first, and m
 * was built from zeroed memory, so padding compares equal too).
 */
static void
round_trip(int type, const union ctl_body *m, size_t size)
{
	struct ctl_frame f;
	union ctl_body   back;
	uint8_t         *out = NULL, *q;
	size_t           outlen = 0;
	char             err[CTL_ERRLEN];

	ck_assert_int_eq(encode(type, m, &out, &outlen), 0);
	ck_assert_ptr_nonnull(out);
	q = exact_copy(out, outlen);
	ck_assert_int_eq(ctlmsg_frame(q, outlen, &f), CTL_OK);
	ck_assert_int_eq(f.type, type);
	ck_assert_uint_eq(f.frame_len, outlen);
	ck_assert_uint_eq(f.body_len, outlen - CTL_HDR_LEN);
	ck_assert_ptr_eq(f.body, q + CTL_HDR_LEN);
	err[0] = '\0';
	ck_assert_msg(
	    decode(type, f.body, f.body_len, &back, err, sizeof(err)) == CTL_OK,
	    "%s: %s", ctlmsg_type_name(type), err);
	if (type == CTL_REASSIGN)
		ck_assert(same(type, &back, m));
	else
		ck_assert_mem_eq(&back, m, size);
	release(type, &back);
	free(q);
	free(out);
}

START_TEST(test_type_names)
{
	ck_assert_str_eq(ctlmsg_type_name(CTL_HELLO), "hello");
	ck_assert_str_eq(ctlmsg_type_name(CTL_WELCOME), "welcome");
	ck_assert_str_eq(ctlmsg_type_name(CTL_KEEPALIVE), "keepalive");
	ck_assert_str_eq(ctlmsg_type_name(CTL_LINK_STATE), "link_state");
	ck_assert_str_eq(ctlmsg_type_name(CTL_REASSIGN), "reassign");
	ck_assert_str_eq(ctlmsg_type_name(CTL_REKEY), "rekey");
	ck_assert_str_eq(ctlmsg_type_name(CTL_BYE), "bye");
	ck_assert_str_eq(ctlmsg_type_name(CTL_REASSIGN_ACK), "reassign_ack");
	ck_assert_int_eq(CTL_TYPE_MAX, 8);
	ck_assert_str_eq(ctlmsg_type_name(9), "unknown");
	ck_assert_str_eq(ctlmsg_type_name(0), "unknown");
	ck_assert_str_eq(ctlmsg_type_name(CTL_TYPE_MAX + 1), "unknown");
	ck_assert_str_eq(ctlmsg_type_name(-1), "unknown");
	ck_assert_str_eq(ctlmsg_type_name(256), "unknown");
	ck_assert_str_eq(ctlmsg_type_tag(CTL_LINK_STATE), "LINK_STATE");
	ck_assert_str_eq(ctlmsg_type_tag(CTL_REASSIGN_ACK), "REASSIGN_ACK");
	ck_assert_str_eq(ctlmsg_type_tag(0), "UNKNOWN");
	ck_assert_str_eq(ctlmsg_type_tag(CTL_TYPE_MAX + 1), "UNKNOWN");
}
END_TEST

/* The one entry point: the frame's type chooses; nothing else decodes. */
START_TEST(test_decode_entry)
{
	static const uint8_t ra[] =
	    "{\"link\":2,\"seq\":0,\"last\":true,\"total\":1,\"moves\":["
	    "[\"10.1.0.10\",40000,\"203.0.113.10\",443,6,1]]}";
	static const uint8_t empty[] = "{}";
	struct ctl_frame     f;
	struct ctl_msg       m;
	char                 err[CTL_ERRLEN];
	uint8_t             *out;
	size_t               outlen;

	f = (struct ctl_frame){0, empty, 2, CTL_HDR_LEN + 2};
	ck_assert_int_eq(ctlmsg_decode(&f, &m, err, sizeof(err)), CTL_ERR_TYPE);
	ck_assert_str_eq(err, "unknown message type 0");
	f.type = CTL_TYPE_MAX + 1;
	ck_assert_int_eq(ctlmsg_decode(&f, &m, err, sizeof(err)), CTL_ERR_TYPE);
	ck_assert_str_eq(err, "unknown message type 9");

	f.type = CTL_KEEPALIVE;
	ck_assert_int_eq(ctlmsg_decode(&f, &m, err, sizeof(err)), CTL_OK);
	ck_assert_uint_eq(m.type, CTL_KEEPALIVE);
	ck_assert_int_eq(ctlmsg_encode(&m, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + 2);
	ck_assert_mem_eq(out, "\0\0\0\2\3{}", outlen);
	free(out);
	ctlmsg_msg_free(&m);

	/* The same body is another message's, and refused as such. */
	f.type = CTL_REKEY;
	ck_assert_int_eq(ctlmsg_decode(&f, &m, err, sizeof(err)), CTL_ERR_BODY);
	ck_assert_str_eq(err, "missing key \"epoch\"");

	/* A REASSIGN's moves are the caller's until ctlmsg_msg_free(). */
	f = (struct ctl_frame){
	    CTL_REASSIGN, ra, sizeof(ra) - 1, CTL_HDR_LEN + sizeof(ra) - 1};
	ck_assert_int_eq(ctlmsg_decode(&f, &m, err, sizeof(err)), CTL_OK);
	ck_assert_uint_eq(m.type, CTL_REASSIGN);
	ck_assert_uint_eq(m.u.reassign.nmoves, 1);
	ck_assert_uint_eq(m.u.reassign.moves[0].key.pa, 40000);
	ck_assert_uint_eq(m.u.reassign.moves[0].link, 1);
	ctlmsg_msg_free(&m);
	ck_assert_ptr_null(m.u.reassign.moves);
}
END_TEST

START_TEST(test_round_trip_hello)
{
	union ctl_body m;

	memset(&m, 0, sizeof(m));
	small_hello(&m.hello);
	round_trip(CTL_HELLO, &m, sizeof(m.hello));
	big_hello(&m.hello);
	round_trip(CTL_HELLO, &m, sizeof(m.hello));
	/* No LAN at all is allowed: a site may only reach the Internet. */
	small_hello(&m.hello);
	m.hello.nlan = 0;
	memset(m.hello.lan, 0, sizeof(m.hello.lan));
	round_trip(CTL_HELLO, &m, sizeof(m.hello));
}
END_TEST

START_TEST(test_round_trip_welcome)
{
	static const struct ctl_welcome ws[] = {
	    {PROTOCOL_VERSION, 1, 1, 1, 10, 1, 1},
	    {PROTOCOL_VERSION, PROTO_MAX_WORKERS, 0xdeadbeef, 4789, 100, 3, 5},
	    {PROTOCOL_VERSION, 7, UINT32_MAX, 65535, 10000, 100, 100},
	};
	union ctl_body m;
	size_t         i;

	for (i = 0; i < NELEM(ws); i++) {
		memset(&m, 0, sizeof(m));
		m.welcome = ws[i];
		round_trip(CTL_WELCOME, &m, sizeof(m.welcome));
	}
}
END_TEST

START_TEST(test_round_trip_small)
{
	static const struct ctl_link_state ls[] = {
	    {0, 0, 0, 0, 0, 0, {{0}}},
	    {7, 1, 23456, 1500, 800, 0, {{0}}},
	    {PROTO_MAX_LINKS - 1, 1, UINT32_MAX, 1000000, 0, 0, {{0}}},
	};
	static const uint32_t epochs[] = {0, 1, 0x80000000u, UINT32_MAX};
	union ctl_body        m;
	size_t                i;

	for (i = 0; i < NELEM(ls); i++) {
		memset(&m, 0, sizeof(m));
		m.link_state = ls[i];
		round_trip(CTL_LINK_STATE, &m, sizeof(m.link_state));
	}
	/* with jitter and every profile a link may be degraded for */
	memset(&m, 0, sizeof(m));
	m.link_state.link = 2;
	m.link_state.up = 1;
	m.link_state.jitter_us = UINT32_MAX;
	m.link_state.ndegraded = CTL_MAX_DEGRADED;
	for (i = 0; i < CTL_MAX_DEGRADED; i++)
		snprintf(m.link_state.degraded[i],
		    sizeof(m.link_state.degraded[i]), "%.24s-%zu",
		    "profile-with-a-long-name", i);
	round_trip(CTL_LINK_STATE, &m, sizeof(m.link_state));
	for (i = 0; i < NELEM(epochs); i++) {
		memset(&m, 0, sizeof(m));
		m.rekey.epoch = epochs[i];
		round_trip(CTL_REKEY, &m, sizeof(m.rekey));
	}
	memset(&m, 0, sizeof(m));
	round_trip(CTL_BYE, &m, sizeof(m.bye));
	snprintf(m.bye.reason, sizeof(m.bye.reason),
	    "shutting down: \"config\" reload \\ café");
	round_trip(CTL_BYE, &m, sizeof(m.bye));
	memset(m.bye.reason, 'x', sizeof(m.bye.reason) - 1);
	round_trip(CTL_BYE, &m, sizeof(m.bye));
	round_trip(CTL_KEEPALIVE, &m, 0);
}
END_TEST

/* The exact bytes a peer gets: header big-endian, compact JSON. */
START_TEST(test_exact_bytes)
{
	static const uint8_t keepalive[] = {
	    0, 0, 0, 2, CTL_KEEPALIVE, '{', '}'};
	struct ctl_rekey r = {0x01020304};
	struct ctl_hello h;
	uint8_t         *out;
	size_t           outlen, n = sizeof(small_hello_json) - 1;
	const char       rekey[] = "{\"epoch\":16909060}";

	ck_assert_int_eq(ctlmsg_encode_keepalive(&out, &outlen), 0);
	ck_assert_uint_eq(outlen, sizeof(keepalive));
	ck_assert_mem_eq(out, keepalive, sizeof(keepalive));
	free(out);

	ck_assert_int_eq(ctlmsg_encode_rekey(&r, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + strlen(rekey));
	ck_assert_uint_eq(out[3], strlen(rekey));
	ck_assert_uint_eq(out[4], CTL_REKEY);
	ck_assert_mem_eq(out + CTL_HDR_LEN, rekey, strlen(rekey));
	free(out);

	/* Over 255 bytes, so that the second length byte is used. */
	small_hello(&h);
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + n);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(out[2], n >> 8);
	ck_assert_uint_eq(out[3], n & 0xff);
	ck_assert_uint_eq(out[4], CTL_HELLO);
	ck_assert_mem_eq(out + CTL_HDR_LEN, small_hello_json, n);
	free(out);
}
END_TEST

START_TEST(test_exact_bytes_welcome_link_state_bye)
{
	static const char welcome[] =
	    "{\"version\":2,\"workers\":1,\"session\":305419896,\"data_port\":"
	    "4789,"
	    "\"probe\":{\"interval_ms\":100,\"down_after\":3,\"up_after\":5}}";
	static const char link_state[] =
	    "{\"link\":3,\"up\":false,\"rtt_us\":12000,\"loss_ppm\":250,"
	    "\"jitter_us\":0,\"degraded\":[]}";
	static const char     bye[] = "{\"reason\":\"bye \\\"now\\\"\"}";
	struct ctl_welcome    w = {2, 1, 0x12345678, 4789, 100, 3, 5};
	struct ctl_link_state ls = {3, 0, 12000, 250, 0, 0, {{0}}};
	struct ctl_bye        b;
	uint8_t              *out;
	size_t                outlen;

	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), 0);
	ck_assert_uint_eq(outlen - CTL_HDR_LEN, strlen(welcome));
	ck_assert_mem_eq(out + CTL_HDR_LEN, welcome, strlen(welcome));
	free(out);
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), 0);
	ck_assert_uint_eq(outlen - CTL_HDR_LEN, strlen(link_state));
	ck_assert_mem_eq(out + CTL_HDR_LEN, link_state, strlen(link_state));
	free(out);
	memset(&b, 0, sizeof(b));
	snprintf(b.reason, sizeof(b.reason), "bye \"now\"");
	ck_assert_int_eq(ctlmsg_encode_bye(&b, &out, &outlen), 0);
	ck_assert_uint_eq(outlen - CTL_HDR_LEN, strlen(bye));
	ck_assert_mem_eq(out + CTL_HDR_LEN, bye, strlen(bye));
	free(out);
}
END_TEST

/* A decoder that accepts what the encoder refuses would be a bug too. */
START_TEST(test_encode_refuses)
{
	struct ctl_link_state ls = {0, 2, 0, 0, 0, 0, {{0}}};
	struct ctl_welcome    w = {2, 1, 1, 1, 100, 3, 5};
	struct ctl_hello      h;
	struct ctl_bye        b;
	uint8_t              *out;
	size_t                outlen;

	small_hello(&h);
	h.nlinks = 0;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	h.nlinks = PROTO_MAX_LINKS + 1;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	add_link(&h, "WAN2", 0, 1, 1); /* id 0 twice */
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	add_link(&h, "WAN1", 1, 1, 1); /* WAN1 twice */
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	snprintf(h.links[0].name, sizeof(h.links[0].name), "WAN 1");
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	memset(h.links[0].name, 'x', sizeof(h.links[0].name));
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	memset(h.site, 'x', sizeof(h.site));
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.site[0] = '\0';
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.links[0].up_mbps = 0;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.lan[0].addr.a[3] = 1; /* host bits */
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.lan[0].addr.family = 0;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.nlan = CTL_MAX_LAN + 1;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);
	small_hello(&h);
	h.links[0].id = PROTO_MAX_LINKS;
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, &outlen), -1);

	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	ls.up = 1;
	ls.link = PROTO_MAX_LINKS;
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	ls.link = 0;
	ls.loss_ppm = 1000001;
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	ls.loss_ppm = 0;
	ls.ndegraded = CTL_MAX_DEGRADED + 1;
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	ls.ndegraded = 1;
	memset(ls.degraded[0], 'v', sizeof(ls.degraded[0])); /* no NUL */
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	snprintf(ls.degraded[0], sizeof(ls.degraded[0]), "vo ice");
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	ls.ndegraded = 2;
	snprintf(ls.degraded[0], sizeof(ls.degraded[0]), "voice");
	snprintf(ls.degraded[1], sizeof(ls.degraded[1]), "voice");
	ck_assert_int_eq(ctlmsg_encode_link_state(&ls, &out, &outlen), -1);
	memset(&ls, 0, sizeof(ls));

	w.session = 0;
	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), -1);
	w.session = 1;
	w.data_port = 0;
	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), -1);
	w.data_port = 1;
	w.probe_interval_ms = 9;
	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), -1);
	w.probe_interval_ms = 10;
	w.probe_up_after = 101;
	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), -1);

	memset(&b, 0, sizeof(b));
	snprintf(b.reason, sizeof(b.reason), "line\nbreak");
	ck_assert_int_eq(ctlmsg_encode_bye(&b, &out, &outlen), -1);
	memset(b.reason, 'x', sizeof(b.reason));
	ck_assert_int_eq(ctlmsg_encode_bye(&b, &out, &outlen), -1);
	/* Bytes that are not UTF-8 cannot be a JSON string. */
	snprintf(b.reason, sizeof(b.reason), "bad \xff byte");
	ck_assert_int_eq(ctlmsg_encode_bye(&b, &out, &outlen), -1);

	/* A refusal hands out nothing: *out and *outlen are not touched. */
	out = (uint8_t *)&b;
	outlen = 12345;
	ck_assert_int_eq(ctlmsg_encode_bye(&b, &out, &outlen), -1);
	w.probe_up_after = 5;
	w.session = 0;
	ck_assert_int_eq(ctlmsg_encode_welcome(&w, &out, &outlen), -1);
	ck_assert_ptr_eq(out, (uint8_t *)&b);
	ck_assert_uint_eq(outlen, 12345);
}
END_TEST

/* ------------------------------------------------------------ framing */

static uint8_t *
hello_frame(size_t *len)
{
	struct ctl_hello h;
	uint8_t         *out;

	small_hello(&h);
	ck_assert_int_eq(ctlmsg_encode_hello(&h, &out, len), 0);
	return out;
}

START_TEST(test_frame_truncated)
{
	struct ctl_frame f, before;
	uint8_t         *frame, *q;
	size_t           len, n;

	frame = hello_frame(&len);
	memset(&before, 0x5a, sizeof(before));
	for (n = 0; n < len; n++) {
		q = exact_copy(frame, n);
		f = before;
		QUIET_ASSERT(
		    ctlmsg_frame(n == 0 ? NULL : q, n, &f) == CTL_NEED_MORE,
		    "%zu of %zu bytes", n, len);
		QUIET_ASSERT(memcmp(&f, &before, sizeof(f)) == 0,
		    "f touched at %zu bytes", n);
		free(q);
	}
	free(frame);
}
END_TEST

START_TEST(test_frame_exact)
{
	struct ctl_frame f;
	uint8_t         *frame, *q;
	size_t           len;

	frame = hello_frame(&len);
	q = exact_copy(frame, len);
	ck_assert_int_eq(ctlmsg_frame(q, len, &f), CTL_OK);
	ck_assert_uint_eq(f.type, CTL_HELLO);
	ck_assert_ptr_eq(f.body, q + CTL_HDR_LEN);
	ck_assert_uint_eq(f.body_len, len - CTL_HDR_LEN);
	ck_assert_uint_eq(f.frame_len, len);
	/* what a reader waits for, from the header alone */
	ck_assert_uint_eq(ctlmsg_frame_need(q), len);
	free(q);
	free(frame);
}
END_TEST

START_TEST(test_frame_back_to_back)
{
	struct ctl_frame f;
	uint8_t         *a, *b, *both;
	size_t           alen, blen;
	char             err[CTL_ERRLEN];

	a = hello_frame(&alen);
	ck_assert_int_eq(ctlmsg_encode_keepalive(&b, &blen), 0);
	both = malloc(alen + blen);
	ck_assert_ptr_nonnull(both);
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);

	ck_assert_int_eq(ctlmsg_frame(both, alen + blen, &f), CTL_OK);
	ck_assert_uint_eq(f.type, CTL_HELLO);
	ck_assert_uint_eq(f.frame_len, alen);
	ck_assert_uint_eq(f.body_len, alen - CTL_HDR_LEN);
	ck_assert_int_eq(
	    ctlmsg_decode_keepalive(f.body, f.body_len, err, sizeof(err)),
	    CTL_ERR_BODY);
	ck_assert_int_eq(
	    ctlmsg_frame(both + f.frame_len, alen + blen - f.frame_len, &f),
	    CTL_OK);
	ck_assert_uint_eq(f.type, CTL_KEEPALIVE);
	ck_assert_uint_eq(f.frame_len, blen);
	/* Part of the second frame: the first is still whole. */
	ck_assert_int_eq(ctlmsg_frame(both, alen + 3, &f), CTL_OK);
	ck_assert_uint_eq(f.frame_len, alen);
	free(both);
	free(a);
	free(b);
}
END_TEST

/* A length over the limit or a bad type is refused from 5 bytes. */
START_TEST(test_frame_oversize)
{
	static const uint8_t over[][CTL_HDR_LEN] = {
	    {0x00, 0x10, 0x00, 0x01, CTL_HELLO}, /* CTL_MAX_BODY + 1 */
	    {0x01, 0x00, 0x00, 0x00, CTL_BYE},
	    {0xff, 0xff, 0xff, 0xff, CTL_KEEPALIVE},
	    {0x80, 0x00, 0x00, 0x00, CTL_REKEY},
	};
	static const uint8_t max[CTL_HDR_LEN] = {
	    0x00, 0x10, 0x00, 0x00, CTL_HELLO};
	struct ctl_frame f;
	uint8_t         *q, *big;
	size_t           i;

	ck_assert_int_eq(CTL_MAX_BODY, 0x100000);
	for (i = 0; i < NELEM(over); i++) {
		q = exact_copy(over[i], CTL_HDR_LEN);
		ck_assert_int_eq(
		    ctlmsg_frame(q, CTL_HDR_LEN, &f), CTL_ERR_OVERSIZE);
		/* Four bytes are not yet a header. */
		ck_assert_int_eq(ctlmsg_frame(q, 4, &f), CTL_NEED_MORE);
		free(q);
	}
	q = exact_copy(max, CTL_HDR_LEN);
	ck_assert_int_eq(ctlmsg_frame(q, CTL_HDR_LEN, &f), CTL_NEED_MORE);
	free(q);
	/* Exactly CTL_MAX_BODY: framed, and the length read big-endian. */
	big = malloc(CTL_HDR_LEN + CTL_MAX_BODY);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', CTL_HDR_LEN + CTL_MAX_BODY);
	memcpy(big, max, CTL_HDR_LEN);
	ck_assert_int_eq(
	    ctlmsg_frame(big, CTL_HDR_LEN + CTL_MAX_BODY, &f), CTL_OK);
	ck_assert_uint_eq(f.body_len, CTL_MAX_BODY);
	big[1] = 0x01;
	big[2] = 0x02;
	big[3] = 0x03;
	ck_assert_int_eq(
	    ctlmsg_frame(big, CTL_HDR_LEN + CTL_MAX_BODY, &f), CTL_OK);
	ck_assert_uint_eq(f.body_len, 0x010203);
	ck_assert_uint_eq(f.frame_len, CTL_HDR_LEN + 0x010203);
	free(big);
}
END_TEST

START_TEST(test_frame_type)
{
	static const uint8_t bad[] = {0, CTL_TYPE_MAX + 1, 0x80, 0xff};
	uint8_t              hdr[CTL_HDR_LEN + 2] = {0, 0, 0, 2, 0, '{', '}'};
	struct ctl_frame     f;
	size_t               i;
	int                  t;

	for (i = 0; i < NELEM(bad); i++) {
		hdr[4] = bad[i];
		ck_assert_int_eq(
		    ctlmsg_frame(hdr, CTL_HDR_LEN, &f), CTL_ERR_TYPE);
		ck_assert_int_eq(
		    ctlmsg_frame(hdr, sizeof(hdr), &f), CTL_ERR_TYPE);
	}
	/* Every known type frames, REASSIGN included. */
	for (t = 1; t <= CTL_TYPE_MAX; t++) {
		hdr[4] = (uint8_t)t;
		ck_assert_int_eq(ctlmsg_frame(hdr, sizeof(hdr), &f), CTL_OK);
		ck_assert_int_eq(f.type, t);
		ck_assert_uint_eq(f.body_len, 2);
	}
	/* An empty body frames; decoding it is what fails. */
	memset(hdr, 0, 4);
	hdr[4] = CTL_KEEPALIVE;
	ck_assert_int_eq(ctlmsg_frame(hdr, CTL_HDR_LEN, &f), CTL_OK);
	ck_assert_uint_eq(f.frame_len, CTL_HDR_LEN);
}
END_TEST

/* ------------------------------------------------------------ decoders */

#define LINK(n, id, up)                                                        \
	"{\"name\":\"" n "\",\"id\":" #id ",\"up_mbps\":" #up                  \
	",\"down_mbps\":5}"
#define HELLO(links, lan)                                                      \
	"{\"version\":2,\"workers\":1,\"site\":\"branch-17\",\"links\":"       \
	"[" links "],\"lan\":[" lan "]}"
#define L0  LINK("WAN1", 0, 100)
#define LAN "\"10.1.0.0/24\""
#define WELCOME(probe)                                                         \
	"{\"version\":2,\"workers\":1,\"session\":7,\"data_port\":4789,"       \
	"\"probe\":" probe "}"
#define PROBE "{\"interval_ms\":100,\"down_after\":3,\"up_after\":5}"
#define RA(moves)                                                              \
	"{\"link\":2,\"seq\":0,\"last\":true,\"total\":9,\"moves\":[" moves "]}"
#define MV(a, pa, b, pb, proto, link)                                          \
	"[\"" a "\"," #pa ",\"" b "\"," #pb "," #proto "," #link "]"
#define MV4 MV("10.1.0.10", 40000, "203.0.113.10", 443, 6, 1)

static const struct bad_body {
	int         type;
	const char *body;
	const char *want; /* NULL: accepted; else exact, '*' as in fnmatch */
} bad_bodies[] = {
    /* Shape. */
    {CTL_HELLO, "", "empty body, expected a JSON object"},
    {CTL_HELLO, "[]", "body must be a JSON object, got array"},
    {CTL_REKEY, "7", "body must be a JSON object, got integer"},
    {CTL_BYE, "\"bye\"", "body must be a JSON object, got string"},
    {CTL_KEEPALIVE, "null", "body must be a JSON object, got null"},
    {CTL_KEEPALIVE, "{", "not JSON at byte 1: *"},
    {CTL_KEEPALIVE, "hello", "not JSON at byte *"},
    {CTL_KEEPALIVE, "{}x", "not JSON at byte 3: end of file expected*"},
    {CTL_KEEPALIVE, "{} {}", "not JSON at byte *"},
    {CTL_KEEPALIVE, "{}\n", NULL}, /* whitespace is not garbage */
    {CTL_REKEY, "{\"epoch\":1,\"epoch\":2}",
	"not JSON at byte *duplicate object key*"},
    /* No jansson flag name in a message (issue 11). */
    {CTL_BYE, "{\"reason\":\"a\\u0000b\"}",
	"not JSON at byte 20: \\u0000 is not allowed near '\"a\\u0000b\"'"},
    {CTL_BYE, "{\"reason\":\"\xff\"}",
	"not JSON at byte 11: unable to decode byte 0xff near '\"'"},
    {CTL_BYE, "\xef\xbb\xbf{\"reason\":\"x\"}",
	"not JSON at byte 0: a UTF-8 byte order mark (EF BB BF) at the "
	"start, which JSON does not allow (RFC 8259 section 8.1)"},
    {CTL_REKEY, "{\"epoch\":99999999999999999999}", "not JSON at byte *"},
    {CTL_KEEPALIVE, "{\"a\":1}", "unknown key \"a\""},
    {CTL_KEEPALIVE, "{\"\\n\":1}", "unknown key \"\\n\""},

    /* HELLO */
    {CTL_HELLO, HELLO(L0, LAN), NULL},
    {CTL_HELLO, HELLO(L0, ""), NULL},
    {CTL_HELLO, "{\"site\":\"b\",\"links\":[" L0 "],\"lan\":[]}",
	"missing key \"version\""},
    /* Version 1's HELLO had no workers: it hears of its version. */
    {CTL_HELLO, "{\"version\":1,\"site\":\"b\",\"links\":[" L0 "],\"lan\":[]}",
	"version: protocol version 1, this end speaks 2"},
    {CTL_HELLO,
	"{\"version\":3,\"workers\":1,\"site\":\"b\",\"links\":[" L0
	"],\"lan\":[]}",
	"version: protocol version 3, this end speaks 2"},
    {CTL_HELLO, "{\"version\":2,\"site\":\"b\",\"links\":[" L0 "],\"lan\":[]}",
	"missing key \"workers\""},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":0,\"site\":\"b\",\"links\":[" L0
	"],\"lan\":[]}",
	"workers: must be 1..64, got 0"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":65,\"site\":\"b\",\"links\":[" L0
	"],\"lan\":[]}",
	"workers: must be 1..64, got 65"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":64,\"site\":\"b\",\"links\":[" L0
	"],\"lan\":[]}",
	NULL},
    {CTL_HELLO, "{\"version\":2,\"workers\":1,\"links\":[" L0 "],\"lan\":[]}",
	"missing key \"site\""},
    {CTL_HELLO, "{\"version\":2,\"workers\":1,\"site\":\"b\",\"lan\":[]}",
	"missing key \"links\""},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":\"b\",\"links\":[" L0 "]}",
	"missing key \"lan\""},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"colour\":\"red\",\"site\":\"b\","
	"\"links\":[" L0 "],\"lan\":[]}",
	"unknown key \"colour\""},
    {CTL_HELLO, "{\"version\":\"1\",\"site\":\"b\",\"links\":[],\"lan\":[]}",
	"version: must be an integer, got string"},
    {CTL_HELLO, "{\"version\":1.0,\"site\":\"b\",\"links\":[],\"lan\":[]}",
	"version: must be an integer, got real"},
    {CTL_HELLO, "{\"version\":-1,\"site\":\"b\",\"links\":[],\"lan\":[]}",
	"version: must be 0..4294967295, got -1"},
    {CTL_HELLO,
	"{\"version\":4294967296,\"site\":\"b\",\"links\":[],\"lan\":[]}",
	"version: must be 0..4294967295, got 4294967296"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":\"\",\"links\":[],\"lan\":[]}",
	"site: must be 1..63 bytes long, got 0"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":\"a\\u0007b\",\"links\":[],"
	"\"lan\":[]}",
	"site: must not contain control characters; got \"a\\u0007b\""},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":7,\"links\":[],\"lan\":[]}",
	"site: must be a string, got integer"},
    {CTL_HELLO, HELLO("", LAN), "links: must have 1..32 entries, got 0"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":\"b\",\"links\":{},\"lan\":[]}",
	"links: must be an array, got object"},
    {CTL_HELLO, HELLO("7", LAN), "links[0]: must be an object, got integer"},
    {CTL_HELLO,
	HELLO("{\"name\":\"WAN1\",\"id\":0,\"up_mbps\":1,\"down_mbps\":1,"
	      "\"colour\":1}",
	    LAN),
	"links[0]: unknown key \"colour\""},
    {CTL_HELLO, HELLO("{\"name\":\"WAN1\",\"id\":0,\"up_mbps\":1}", LAN),
	"links[0]: missing key \"down_mbps\""},
    {CTL_HELLO, HELLO(L0 "," LINK("WAN2", 1, 10) "," LINK("WAN3", 2, 0), LAN),
	"links[2].up_mbps: must be 1..1000000, got 0"},
    {CTL_HELLO, HELLO(LINK("WAN1", 0, 1000001), LAN),
	"links[0].up_mbps: must be 1..1000000, got 1000001"},
    {CTL_HELLO, HELLO(LINK("WAN1", 32, 1), LAN),
	"links[0].id: must be 0..31, got 32"},
    {CTL_HELLO, HELLO(LINK("WAN1", true, 1), LAN),
	"links[0].id: must be an integer, got boolean"},
    {CTL_HELLO, HELLO(LINK("", 0, 1), LAN),
	"links[0].name: must be 1..31 characters long, got 0"},
    {CTL_HELLO, HELLO(LINK("0123456789012345678901234567890123", 0, 1), LAN),
	"links[0].name: must be 1..31 characters long, got 34"},
    {CTL_HELLO, HELLO(LINK("WAN 1", 0, 1), LAN),
	"links[0].name: must contain only letters, digits, \"_\", \".\" "
	"and \"-\"; got \"WAN 1\""},
    {CTL_HELLO, HELLO(L0 "," LINK("WAN1", 1, 1), LAN),
	"links[1].name: duplicate link name \"WAN1\" (also links[0])"},
    {CTL_HELLO, HELLO(L0 "," LINK("WAN2", 1, 1) "," LINK("WAN3", 1, 1), LAN),
	"links[2].id: duplicate link id 1 (also links[1])"},
    {CTL_HELLO, HELLO(L0, "\"10.1.0.1/24\""),
	"lan[0]: host bits set after the prefix length; got \"10.1.0.1/24\""},
    {CTL_HELLO, HELLO(L0, LAN ",\"2001:db8::/129\""),
	"lan[1]: not a prefix: length must be 0..128; got "
	"\"2001:db8::/129\""},
    {CTL_HELLO, HELLO(L0, "\"10.1.0.0\""),
	"lan[0]: not a prefix (ADDRESS/LENGTH): the /LENGTH is missing; got "
	"\"10.1.0.0\""},
    {CTL_HELLO, HELLO(L0, "\"branch/24\""),
	"lan[0]: not a prefix (ADDRESS/LENGTH): bad address; got "
	"\"branch/24\""},
    {CTL_HELLO, HELLO(L0, "24"), "lan[0]: must be a string, got integer"},
    {CTL_HELLO,
	"{\"version\":2,\"workers\":1,\"site\":\"b\",\"links\":[" L0
	"],\"lan\":\"x\"}",
	"lan: must be an array, got string"},

    /* WELCOME */
    {CTL_WELCOME, WELCOME(PROBE), NULL},
    {CTL_WELCOME,
	"{\"version\":1,\"session\":7,\"data_port\":4789,\"probe\":" PROBE "}",
	"version: protocol version 1, this end speaks 2"},
    {CTL_WELCOME,
	"{\"version\":2,\"session\":7,\"data_port\":4789,\"probe\":" PROBE "}",
	"missing key \"workers\""},
    {CTL_WELCOME,
	"{\"version\":2,\"workers\":65,\"session\":7,\"data_port\":4789,"
	"\"probe\":" PROBE "}",
	"workers: must be 1..64, got 65"},
    {CTL_WELCOME,
	"{\"version\":2,\"workers\":1,\"session\":7,\"data_port\":4789}",
	"missing key \"probe\""},
    {CTL_WELCOME,
	"{\"version\":2,\"workers\":1,\"session\":0,\"data_port\":4789,"
	"\"probe\":" PROBE "}",
	"session: must be 1..4294967295, got 0"},
    {CTL_WELCOME,
	"{\"version\":2,\"workers\":1,\"session\":1,\"data_port\":65536,"
	"\"probe\":" PROBE "}",
	"data_port: must be 1..65535, got 65536"},
    {CTL_WELCOME,
	"{\"version\":2,\"workers\":1,\"session\":1,\"data_port\":0,"
	"\"probe\":" PROBE "}",
	"data_port: must be 1..65535, got 0"},
    {CTL_WELCOME, WELCOME("[]"), "probe: must be an object, got array"},
    {CTL_WELCOME, WELCOME("{\"interval_ms\":100,\"down_after\":3}"),
	"probe: missing key \"up_after\""},
    {CTL_WELCOME,
	WELCOME("{\"interval_ms\":100,\"down_after\":3,\"up_after\":5,"
		"\"jitter\":1}"),
	"probe: unknown key \"jitter\""},
    {CTL_WELCOME,
	WELCOME("{\"interval_ms\":9,\"down_after\":3,\"up_after\":5}"),
	"probe.interval_ms: must be 10..10000, got 9"},
    {CTL_WELCOME,
	WELCOME("{\"interval_ms\":10,\"down_after\":101,\"up_after\":5}"),
	"probe.down_after: must be 1..100, got 101"},
    {CTL_WELCOME,
	WELCOME("{\"interval_ms\":10,\"down_after\":1,\"up_after\":null}"),
	"probe.up_after: must be an integer, got null"},

    /* LINK_STATE */
    {CTL_LINK_STATE, "{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0}",
	NULL},
    {CTL_LINK_STATE, "{\"link\":0,\"up\":1,\"rtt_us\":0,\"loss_ppm\":0}",
	"up: must be a boolean, got integer"},
    {CTL_LINK_STATE, "{\"link\":32,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0}",
	"link: must be 0..31, got 32"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":1000001}",
	"loss_ppm: must be 0..1000000, got 1000001"},
    {CTL_LINK_STATE, "{\"link\":0,\"up\":true,\"rtt_us\":-5,\"loss_ppm\":0}",
	"rtt_us: must be 0..4294967295, got -5"},
    {CTL_LINK_STATE, "{\"link\":0,\"up\":true,\"loss_ppm\":0}",
	"missing key \"rtt_us\""},
    /* a Socket's service-level verdicts: optional, profile names */
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"jitter_us\":900,\"degraded\":[\"voice\",\"video-1\"]}",
	NULL},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"jitter_us\":-1}",
	"jitter_us: must be 0..4294967295, got -1"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":\"voice\"}",
	"degraded: must be an array, got string"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":[\"voice\",3]}",
	"degraded[1]: must be a string, got integer"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":[\"\"]}",
	"degraded[0]: must be 1..31 characters long, got 0"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":[\"0123456789012345678901234567890x\"]}",
	"degraded[0]: must be 1..31 characters long, got 32"},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":[\"vo ice\"]}",
	"degraded[0]: must contain only letters, digits, \"_\", \".\" and "
	"\"-\"; got \"vo ice\""},
    {CTL_LINK_STATE,
	"{\"link\":0,\"up\":true,\"rtt_us\":0,\"loss_ppm\":0,"
	"\"degraded\":[\"voice\",\"bulk\",\"voice\"]}",
	"degraded[2]: duplicate profile \"voice\" (also degraded[0])"},

    /* REKEY, BYE */
    {CTL_REKEY, "{}", "missing key \"epoch\""},
    {CTL_REKEY, "{\"epoch\":\"2\"}", "epoch: must be an integer, got string"},
    {CTL_REKEY, "{\"epoch\":4294967295}", NULL},
    {CTL_REKEY, "{\"epoch\":1,\"reason\":\"x\"}", "unknown key \"reason\""},
    {CTL_BYE, "{\"reason\":\"\"}", NULL},
    {CTL_BYE, "{\"reason\":\"a\\nb\"}",
	"reason: must not contain control characters; got \"a\\nb\""},
    {CTL_BYE, "{\"reason\":[]}", "reason: must be a string, got array"},
    {CTL_BYE, "{}", "missing key \"reason\""},

    /* REASSIGN: the chunk */
    {CTL_REASSIGN, RA(MV4), NULL},
    {CTL_REASSIGN, RA(""), NULL},
    {CTL_REASSIGN, RA(MV4 "," MV("2001:db8::1", 1, "2001:db8::2", 2, 17, 0)),
	NULL},
    {CTL_REASSIGN, "{\"link\":1,\"flows\":[]}", "unknown key \"flows\""},
    /* no "link": moves that no link failure caused, to any link */
    {CTL_REASSIGN, "{\"seq\":0,\"last\":true,\"total\":0,\"moves\":[]}", NULL},
    {CTL_REASSIGN, "{\"seq\":0,\"last\":true,\"total\":1,\"moves\":[" MV4 "]}",
	NULL},
    {CTL_REASSIGN,
	"{\"link\":null,\"seq\":0,\"last\":true,\"total\":0,"
	"\"moves\":[]}",
	"link: must be an integer, got null"},
    {CTL_REASSIGN, "{\"link\":2,\"last\":true,\"total\":0,\"moves\":[]}",
	"missing key \"seq\""},
    {CTL_REASSIGN, "{\"link\":2,\"seq\":0,\"total\":0,\"moves\":[]}",
	"missing key \"last\""},
    {CTL_REASSIGN, "{\"link\":2,\"seq\":0,\"last\":true,\"moves\":[]}",
	"missing key \"total\""},
    {CTL_REASSIGN, "{\"link\":2,\"seq\":0,\"last\":true,\"total\":0}",
	"missing key \"moves\""},
    {CTL_REASSIGN,
	"{\"link\":2,\"seq\":0,\"last\":true,\"total\":0,\"moves\":[],"
	"\"site\":\"b\"}",
	"unknown key \"site\""},
    {CTL_REASSIGN,
	"{\"link\":\"2\",\"seq\":0,\"last\":true,\"total\":0,\"moves\":[]}",
	"link: must be an integer, got string"},
    {CTL_REASSIGN,
	"{\"link\":32,\"seq\":0,\"last\":true,\"total\":0,\"moves\":[]}",
	"link: must be 0..31, got 32"},
    {CTL_REASSIGN,
	"{\"link\":2,\"seq\":-1,\"last\":true,\"total\":0,\"moves\":[]}",
	"seq: must be 0..4294967295, got -1"},
    {CTL_REASSIGN, "{\"link\":2,\"seq\":0,\"last\":1,\"total\":0,\"moves\":[]}",
	"last: must be a boolean, got integer"},
    {CTL_REASSIGN,
	"{\"link\":2,\"seq\":0,\"last\":true,\"total\":1.5,\"moves\":[]}",
	"total: must be an integer, got real"},
    {CTL_REASSIGN,
	"{\"link\":2,\"seq\":0,\"last\":true,\"total\":0,\"moves\":{}}",
	"moves: must be an array, got object"},
    {CTL_REASSIGN,
	"{\"link\":2,\"seq\":0,\"last\":true,\"total\":1,\"moves\":[" MV4
	"," MV4 "]}",
	"total: must be at least 2, the moves in this chunk; got 1"},

    /* REASSIGN: the moves */
    {CTL_REASSIGN, RA("null"), "moves[0]: must be an array, got null"},
    {CTL_REASSIGN, RA(MV4 ",{\"a\":1}"),
	"moves[1]: must be an array, got object"},
    {CTL_REASSIGN, RA("[\"10.1.0.10\",40000,\"203.0.113.10\",443,6]"),
	"moves[0]: must be [address, port, address, port, protocol, link], "
	"got 5 entries"},
    {CTL_REASSIGN, RA("[\"10.1.0.10\",40000,\"203.0.113.10\",443,6,1,1]"),
	"moves[0]: must be [address, port, address, port, protocol, link], "
	"got 7 entries"},
    {CTL_REASSIGN, RA(MV("10.1.0", 40000, "203.0.113.10", 443, 6, 1)),
	"moves[0][0]: not an IPv4 or IPv6 address; got \"10.1.0\""},
    {CTL_REASSIGN, RA(MV4 "," MV("10.1.0.10", 1, "example.com", 443, 6, 1)),
	"moves[1][2]: not an IPv4 or IPv6 address; got \"example.com\""},
    {CTL_REASSIGN, RA(MV("10.1.0.0/24", 1, "10.2.0.1", 443, 6, 1)),
	"moves[0][0]: not an IPv4 or IPv6 address; got \"10.1.0.0/24\""},
    {CTL_REASSIGN, RA(MV("", 1, "10.2.0.1", 443, 6, 1)),
	"moves[0][0]: not an IPv4 or IPv6 address; got \"\""},
    {CTL_REASSIGN, RA("[167837706,40000,\"203.0.113.10\",443,6,1]"),
	"moves[0][0]: must be a string, got integer"},
    {CTL_REASSIGN, RA("[\"10.1.0.10\",40000,null,443,6,1]"),
	"moves[0][2]: must be a string, got null"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 40000, "2001:db8::1", 443, 6, 1)),
	"moves[0][2]: an IPv6 address in an IPv4 flow; got \"2001:db8::1\""},
    {CTL_REASSIGN, RA(MV("2001:db8::1", 40000, "10.1.0.10", 443, 6, 1)),
	"moves[0][2]: an IPv4 address in an IPv6 flow; got \"10.1.0.10\""},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 40000, "203.0.113.10", 443, 6, 2)),
	"moves[0][5]: link 2 is the link that failed"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 40000, "203.0.113.10", 443, 6, 32)),
	"moves[0][5]: must be 0..31, got 32"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 40000, "203.0.113.10", 443, 6, -1)),
	"moves[0][5]: must be 0..31, got -1"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 65536, "203.0.113.10", 443, 6, 1)),
	"moves[0][1]: must be 0..65535, got 65536"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 0, "203.0.113.10", -1, 6, 1)),
	"moves[0][3]: must be 0..65535, got -1"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 1, "203.0.113.10", "443", 6, 1)),
	"moves[0][3]: must be an integer, got string"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 1.0, "203.0.113.10", 443, 6, 1)),
	"moves[0][1]: must be an integer, got real"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 1, "203.0.113.10", 443, 256, 1)),
	"moves[0][4]: must be 0..255, got 256"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 1, "203.0.113.10", 443, true, 1)),
	"moves[0][4]: must be an integer, got boolean"},
    {CTL_REASSIGN, RA(MV("203.0.113.10", 443, "10.1.0.10", 40000, 6, 1)),
	"moves[0]: not a normalised flow key: the lower address (then port) "
	"comes first"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 2, "10.1.0.10", 1, 17, 1)),
	"moves[0]: not a normalised flow key: the lower address (then port) "
	"comes first"},
    {CTL_REASSIGN, RA(MV("2001:db8::2", 1, "2001:db8::1", 1, 17, 1)),
	"moves[0]: not a normalised flow key: the lower address (then port) "
	"comes first"},
    {CTL_REASSIGN, RA(MV("10.1.0.10", 1, "10.1.0.10", 1, 17, 1)), NULL},

    /* REASSIGN_ACK */
    {CTL_REASSIGN_ACK, "{\"link\":2,\"seq\":0}", NULL},
    {CTL_REASSIGN_ACK, "{\"link\":31,\"seq\":4294967295}", NULL},
    {CTL_REASSIGN_ACK, "{\"link\":2}", "missing key \"seq\""},
    {CTL_REASSIGN_ACK, "{\"seq\":0}", NULL},
    {CTL_REASSIGN_ACK, "{}", "missing key \"seq\""},
    {CTL_REASSIGN_ACK, "{\"link\":32,\"seq\":0}",
	"link: must be 0..31, got 32"},
    {CTL_REASSIGN_ACK, "{\"link\":2,\"seq\":4294967296}",
	"seq: must be 0..4294967295, got 4294967296"},
    {CTL_REASSIGN_ACK, "{\"link\":\"2\",\"seq\":0}",
	"link: must be an integer, got string"},
    {CTL_REASSIGN_ACK, "{\"link\":2,\"seq\":[]}",
	"seq: must be an integer, got array"},
    {CTL_REASSIGN_ACK, "{\"link\":2,\"seq\":0,\"last\":true}",
	"unknown key \"last\""},
    {CTL_REASSIGN_ACK, "[]", "body must be a JSON object, got array"},
    {CTL_REASSIGN_ACK, "", "empty body, expected a JSON object"},
};

static void
check_message(const char *err)
{
	const unsigned char *p;

	QUIET_ASSERT(err[0] != '\0', "no message");
	QUIET_ASSERT(strlen(err) < CTL_ERRLEN, "message too long: %s", err);
	for (p = (const unsigned char *)err; *p != '\0'; p++)
		QUIET_ASSERT(*p >= ' ' && *p != 0x7f, "unprintable: %s", err);
}

START_TEST(test_bad_bodies)
{
	const struct bad_body *b;
	union ctl_body         m, zero;
	size_t                 i;
	char                   err[CTL_ERRLEN];
	int                    rc;

	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < NELEM(bad_bodies); i++) {
		b = &bad_bodies[i];
		rc = decode_str(b->type, b->body, &m, err);
		if (b->want == NULL) {
			ck_assert_msg(rc == CTL_OK, "%s %s: %s",
			    ctlmsg_type_name(b->type), b->body, err);
			release(b->type, &m);
			continue;
		}
		ck_assert_msg(rc == CTL_ERR_BODY, "%s %s: accepted",
		    ctlmsg_type_name(b->type), b->body);
		check_message(err);
		/* '[' only appears in exact messages, so fnmatch is safe. */
		if (strchr(b->want, '*') != NULL)
			ck_assert_msg(fnmatch(b->want, err, FNM_NOESCAPE) == 0,
			    "%s: got \"%s\", want \"%s\"", b->body, err,
			    b->want);
		else
			ck_assert_msg(strcmp(err, b->want) == 0,
			    "%s: got \"%s\", want \"%s\"", b->body, err,
			    b->want);
		/* A refused message leaves nothing half-filled. */
		ck_assert_mem_eq(&m, &zero, sizeof(m));
	}
}
END_TEST

START_TEST(test_limits)
{
	char           body[64 * 1024], err[CTL_ERRLEN], reason[CTL_ERRLEN + 1];
	union ctl_body m;
	size_t         off, i;

	/* 32 links decode, 33 do not. */
	off = (size_t)snprintf(body, sizeof(body),
	    "{\"version\":2,\"workers\":1,\"site\":\"b\",\"links\":[");
	for (i = 0; i < PROTO_MAX_LINKS + 1; i++) {
		if (i == PROTO_MAX_LINKS) {
			snprintf(
			    body + off, sizeof(body) - off, "],\"lan\":[]}");
			ck_assert_int_eq(
			    decode_str(CTL_HELLO, body, &m, err), CTL_OK);
			ck_assert_uint_eq(m.hello.nlinks, PROTO_MAX_LINKS);
		}
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		    "%s{\"name\":\"l%zu\",\"id\":%zu,\"up_mbps\":1,"
		    "\"down_mbps\":1}",
		    i ? "," : "", i, i % PROTO_MAX_LINKS);
	}
	snprintf(body + off, sizeof(body) - off, "],\"lan\":[]}");
	ck_assert_int_eq(decode_str(CTL_HELLO, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(err, "links: must have 1..32 entries, got 33");

	/* 256 LAN prefixes decode, 257 do not. */
	off = (size_t)snprintf(body, sizeof(body),
	    "{\"version\":2,\"workers\":1,"
	    "\"site\":\"b\",\"links\":[" L0 "],\"lan\":[");
	for (i = 0; i < CTL_MAX_LAN + 1; i++) {
		if (i == CTL_MAX_LAN) {
			snprintf(body + off, sizeof(body) - off, "]}");
			ck_assert_int_eq(
			    decode_str(CTL_HELLO, body, &m, err), CTL_OK);
			ck_assert_uint_eq(m.hello.nlan, CTL_MAX_LAN);
		}
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		    "%s\"10.%zu.%zu.0/24\"", i ? "," : "", i / 256, i % 256);
	}
	snprintf(body + off, sizeof(body) - off, "]}");
	ck_assert_int_eq(decode_str(CTL_HELLO, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(err, "lan: must have 0..256 entries, got 257");

	/* A reason of CTL_ERRLEN - 1 bytes fits; one more does not. */
	memset(reason, 'r', sizeof(reason));
	reason[CTL_ERRLEN - 1] = '\0';
	snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", reason);
	ck_assert_int_eq(decode_str(CTL_BYE, body, &m, err), CTL_OK);
	ck_assert_str_eq(m.bye.reason, reason);
	reason[CTL_ERRLEN - 1] = 'r';
	reason[CTL_ERRLEN] = '\0';
	snprintf(body, sizeof(body), "{\"reason\":\"%s\"}", reason);
	ck_assert_int_eq(decode_str(CTL_BYE, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(
	    err, "reason: must be at most 159 bytes long, got 160");

	/* A long bad value is cut, so the message stays one short line. */
	snprintf(body, sizeof(body), "{\"reason\":\"%.150s\\t\"}", reason);
	ck_assert_int_eq(decode_str(CTL_BYE, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(err,
	    "reason: must not contain control characters; "
	    "got \"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr...\"");
}
END_TEST

START_TEST(test_small_err_buffer)
{
	const char      *body = "{\"epoch\":\"x\"}";
	struct ctl_rekey r;
	char             err[8];

	memset(err, 'Z', sizeof(err));
	ck_assert_int_eq(ctlmsg_decode_rekey((const uint8_t *)body,
			     strlen(body), &r, err, sizeof(err)),
	    CTL_ERR_BODY);
	ck_assert_str_eq(err, "epoch: ");
	/* No buffer at all is allowed: the caller only wants yes or no. */
	ck_assert_int_eq(ctlmsg_decode_rekey(
			     (const uint8_t *)body, strlen(body), &r, NULL, 0),
	    CTL_ERR_BODY);
}
END_TEST

/* jansson caps nesting; deep input is an error, not a stack overflow. */
START_TEST(test_deep_nesting)
{
	enum { DEPTH = 100000 };
	union ctl_body m;
	char          *body, err[CTL_ERRLEN];
	size_t         i;
	int            t;

	body = malloc(2 * DEPTH + 32);
	ck_assert_ptr_nonnull(body);
	for (i = 0; i < DEPTH; i++)
		body[i] = '[';
	for (i = 0; i < DEPTH; i++)
		body[DEPTH + i] = ']';
	body[2 * DEPTH] = '\0';
	for (t = 1; t <= CTL_TYPE_MAX; t++) {
		ck_assert_int_eq(decode_str(t, body, &m, err), CTL_ERR_BODY);
		ck_assert_msg(
		    strncmp(err, "not JSON at byte ", 17) == 0, "%s", err);
	}
	/* Nested deep, but within jansson's limit, under a known key. */
	i = (size_t)sprintf(body, "{\"epoch\":");
	memset(body + i, '[', 1000);
	memset(body + i + 1000, ']', 1000);
	strcpy(body + i + 2000, "}");
	ck_assert_int_eq(decode_str(CTL_REKEY, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(err, "epoch: must be an integer, got array");
	i = (size_t)sprintf(body, "{\"reason\":\"x\",\"z\":");
	for (t = 0; t < 1000; t++)
		i += (size_t)sprintf(body + i, "{\"a\":");
	i += (size_t)sprintf(body + i, "1");
	for (t = 0; t < 1000; t++)
		body[i++] = '}';
	strcpy(body + i, "}");
	ck_assert_int_eq(decode_str(CTL_BYE, body, &m, err), CTL_ERR_BODY);
	ck_assert_str_eq(err, "unknown key \"z\"");
	free(body);
}
END_TEST

/* ------------------------------------------------------------ reassign */

/*
 * A move as the Socket makes it: the key of a packet from src to dst
 * through flow.c's own normalisation, and the flow's new link.
 */
static void
raw_move(struct ctl_move *mv, int family, const uint8_t *src, uint16_t sport,
    const uint8_t *dst, uint16_t dport, uint8_t proto, uint8_t link)
{
	struct pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	memset(mv, 0, sizeof(*mv));
	pi.family = (uint8_t)family;
	pi.proto = proto;
	memcpy(pi.src, src, family == AF_INET ? 4 : 16);
	memcpy(pi.dst, dst, family == AF_INET ? 4 : 16);
	pi.sport = sport;
	pi.dport = dport;
	flow_key_from_pkt(&pi, &mv->key);
	mv->link = link;
}

static void
mk_move(struct ctl_move *mv, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint8_t proto, uint8_t link)
{
	struct wp_addr s, d;

	ck_assert_int_eq(addr_parse(src, &s), 0);
	ck_assert_int_eq(addr_parse(dst, &d), 0);
	ck_assert_int_eq(s.family, d.family);
	raw_move(mv, s.family, s.a, sport, d.a, dport, proto, link);
}

/* The example of ctlmsg.h: link 2 died, one IPv4 and one IPv6 flow. */
static void
small_reassign(struct ctl_reassign *r, struct ctl_move mv[2])
{
	memset(r, 0, sizeof(*r));
	mk_move(&mv[0], "10.1.0.10", 40000, "203.0.113.10", 443, 6, 0);
	mk_move(&mv[1], "2001:db8:1::10", 40001, "2001:db8:ff::1", 53, 17, 1);
	r->dead_link = 2;
	r->seq = 0;
	r->last = 1;
	r->total = 2;
	r->nmoves = 2;
	r->moves = mv;
}

static const char small_reassign_json[] =
    "{\"link\":2,\"seq\":0,\"last\":true,\"total\":2,\"moves\":["
    "[\"10.1.0.10\",40000,\"203.0.113.10\",443,6,0],"
    "[\"2001:db8:1::10\",40001,\"2001:db8:ff::1\",53,17,1]]}";

START_TEST(test_reassign_round_trip)
{
	struct ctl_move mv[5];
	union ctl_body  m;
	uint8_t        *out;
	size_t          outlen;

	memset(&m, 0, sizeof(m));
	small_reassign(&m.reassign, mv);
	round_trip(CTL_REASSIGN, &m, sizeof(m.reassign));
	ck_assert_int_eq(ctlmsg_encode_reassign(&m.reassign, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + strlen(small_reassign_json));
	ck_assert_uint_eq(out[4], CTL_REASSIGN);
	ck_assert_mem_eq(out + CTL_HDR_LEN, small_reassign_json,
	    strlen(small_reassign_json));
	free(out);

	/*
	 * Seen from the server's side the same flows give the same keys:
	 * what the PoP looks up is what the Socket sent.
	 */
	mk_move(&mv[2], "203.0.113.10", 443, "10.1.0.10", 40000, 6, 0);
	ck_assert_mem_eq(&mv[2], &mv[0], sizeof(mv[0]));
	/* A middle chunk, with the extremes of every field. */
	mk_move(&mv[2], "0.0.0.0", 0, "255.255.255.255", 65535, 0, 31);
	mk_move(&mv[3], "::", 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    65535, 255, 0);
	mk_move(&mv[4], "::ffff:10.0.0.1", 7, "::ffff:10.0.0.2", 7, 1, 3);
	ck_assert_int_eq(mv[4].key.family, AF_INET6);
	m.reassign.dead_link = 30;
	m.reassign.seq = 7;
	m.reassign.last = 0;
	m.reassign.total = 100000;
	m.reassign.nmoves = 5;
	round_trip(CTL_REASSIGN, &m, sizeof(m.reassign));
	/* A flow that talks to itself (same address and port) is a key too. */
	mk_move(&mv[0], "127.0.0.1", 9, "127.0.0.1", 9, 17, 1);
	round_trip(CTL_REASSIGN, &m, sizeof(m.reassign));
	/* A failover that moved nothing still says so. */
	m.reassign.seq = 0;
	m.reassign.last = 1;
	m.reassign.total = 0;
	m.reassign.nmoves = 0;
	m.reassign.moves = NULL;
	round_trip(CTL_REASSIGN, &m, sizeof(m.reassign));
}
END_TEST

START_TEST(test_reassign_ack)
{
	static const struct ctl_reassign_ack acks[] = {
	    {0, 0}, {2, 24}, {PROTO_MAX_LINKS - 1, UINT32_MAX}};
	static const char       json[] = "{\"link\":2,\"seq\":24}";
	struct ctl_reassign_ack a = {PROTO_MAX_LINKS, 0};
	union ctl_body          m;
	uint8_t                *out;
	size_t                  outlen, i;

	for (i = 0; i < NELEM(acks); i++) {
		memset(&m, 0, sizeof(m));
		m.reassign_ack = acks[i];
		round_trip(CTL_REASSIGN_ACK, &m, sizeof(m.reassign_ack));
	}
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_ack(&acks[1], &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + strlen(json));
	ck_assert_uint_eq(out[3], strlen(json));
	ck_assert_uint_eq(out[4], CTL_REASSIGN_ACK);
	ck_assert_mem_eq(out + CTL_HDR_LEN, json, strlen(json));
	free(out);
	out = NULL;
	ck_assert_int_eq(ctlmsg_encode_reassign_ack(&a, &out, &outlen), -1);
	ck_assert_ptr_null(out);
}
END_TEST

/*
 * Moves that no dead link caused (failback, a reconciliation) have no
 * "link", in the chunk and in its acknowledgement; such a chunk may move
 * flows to any link, and an out-of-range dead_link still cannot be sent.
 */
START_TEST(test_reassign_no_link)
{
	static const char json[] = "{\"seq\":3,\"last\":true,\"total\":1,"
				   "\"moves\":[[\"10.1.0.10\",40000,"
				   "\"203.0.113.10\",443,6,0]]}";
	static const char ack_json[] = "{\"seq\":3}";
	struct ctl_move   mv[2];
	union ctl_body    m;
	uint8_t          *out;
	size_t            outlen;
	char              err[CTL_ERRLEN];

	memset(&m, 0, sizeof(m));
	small_reassign(&m.reassign, mv);
	m.reassign.dead_link = CTL_LINK_NONE;
	m.reassign.seq = 3;
	m.reassign.total = 1;
	m.reassign.nmoves = 1;
	round_trip(CTL_REASSIGN, &m, sizeof(m.reassign));
	ck_assert_int_eq(ctlmsg_encode_reassign(&m.reassign, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, CTL_HDR_LEN + strlen(json));
	ck_assert_mem_eq(out + CTL_HDR_LEN, json, strlen(json));
	free(out);
	/* A link number the decoder would refuse is no "none". */
	m.reassign.dead_link = PROTO_MAX_LINKS;
	out = NULL;
	ck_assert_int_eq(
	    ctlmsg_encode_reassign(&m.reassign, &out, &outlen), -1);
	ck_assert_ptr_null(out);

	memset(&m, 0, sizeof(m));
	m.reassign_ack.link = CTL_LINK_NONE;
	m.reassign_ack.seq = 3;
	round_trip(CTL_REASSIGN_ACK, &m, sizeof(m.reassign_ack));
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_ack(&m.reassign_ack, &out, &outlen), 0);
	ck_assert_mem_eq(out + CTL_HDR_LEN, ack_json, strlen(ack_json));
	free(out);
	ck_assert_int_eq(
	    ctlmsg_decode_reassign_ack((const uint8_t *)ack_json,
		strlen(ack_json), &m.reassign_ack, err, sizeof(err)),
	    CTL_OK);
	ck_assert_uint_eq(m.reassign_ack.link, CTL_LINK_NONE);
	/* "link": null is a wrong type, not an absent key. */
	ck_assert_int_eq(
	    ctlmsg_decode_reassign_ack((const uint8_t *)"{\"link\":null,"
							"\"seq\":3}",
		21, &m.reassign_ack, err, sizeof(err)),
	    CTL_ERR_BODY);
	ck_assert_str_eq(err, "link: must be an integer, got null");
}
END_TEST

/*
 * 100,000 flows (the figure of issue 5), a third of them IPv6, off link
 * 5: each chunk's frame fits, and the chunks decoded in order give back
 * every move in order, numbered 0..n-1, with last only on the final one.
 */
START_TEST(test_reassign_chunked)
{
	enum { NFLOWS = 100000, DEAD = 5 };
	struct ctl_reassign r;
	struct ctl_frame    f;
	struct ctl_move    *mv;
	uint8_t            *out, src[16], dst[16];
	size_t              i, n, got = 0, outlen;
	char                err[CTL_ERRLEN];
	uint8_t             link;

	ck_assert_uint_eq(ctlmsg_reassign_chunks(0), 1);
	ck_assert_uint_eq(ctlmsg_reassign_chunks(1), 1);
	ck_assert_uint_eq(ctlmsg_reassign_chunks(CTL_MAX_MOVES), 1);
	ck_assert_uint_eq(ctlmsg_reassign_chunks(CTL_MAX_MOVES + 1), 2);
	ck_assert_uint_eq(ctlmsg_reassign_chunks(NFLOWS), 25);
	ck_assert_uint_eq(
	    ctlmsg_reassign_chunks(SIZE_MAX), SIZE_MAX / CTL_MAX_MOVES + 1);

	mv = calloc(NFLOWS, sizeof(*mv));
	ck_assert_ptr_nonnull(mv);
	for (i = 0; i < NFLOWS; i++) {
		memset(src, 0, sizeof(src));
		memset(dst, 0, sizeof(dst));
		link = (uint8_t)(i % (PROTO_MAX_LINKS - 1));
		if (link >= DEAD)
			link++;
		if (i % 3 == 2) {
			memcpy(src, "\x20\x01\x0d\xb8\x00\x01", 6);
			memcpy(dst, "\x20\x01\x0d\xb8\x00\xff", 6);
			src[14] = (uint8_t)(i >> 8);
			src[15] = (uint8_t)i;
			dst[15] = (uint8_t)(i % 7);
			raw_move(&mv[i], AF_INET6, src, (uint16_t)(i * 7), dst,
			    443, 6, link);
		} else {
			src[0] = 10;
			src[1] = (uint8_t)(i >> 16);
			src[2] = (uint8_t)(i >> 8);
			src[3] = (uint8_t)i;
			dst[0] = 203;
			dst[2] = 113;
			dst[3] = (uint8_t)(i % 5);
			/* Some flows reversed, as the PoP's side sees them. */
			if (i % 2)
				raw_move(&mv[i], AF_INET, dst, 53, src,
				    (uint16_t)i, 17, link);
			else
				raw_move(&mv[i], AF_INET, src, (uint16_t)i, dst,
				    53, 17, link);
		}
	}
	n = ctlmsg_reassign_chunks(NFLOWS);
	for (i = 0; i < n; i++) {
		QUIET_ASSERT(ctlmsg_encode_reassign_chunk(DEAD, mv, NFLOWS,
				 (uint32_t)i, &out, &outlen) == 0,
		    "chunk %zu", i);
		QUIET_ASSERT(ctlmsg_frame(out, outlen, &f) == CTL_OK &&
			f.type == CTL_REASSIGN && f.frame_len == outlen,
		    "chunk %zu frame", i);
		QUIET_ASSERT(f.body_len < CTL_MAX_BODY / 2,
		    "chunk %zu: %zu bytes", i, f.body_len);
		QUIET_ASSERT(ctlmsg_decode_reassign(f.body, f.body_len, &r, err,
				 sizeof(err)) == CTL_OK,
		    "chunk %zu: %s", i, err);
		QUIET_ASSERT(r.dead_link == DEAD && r.seq == i &&
			r.last == (i == n - 1) && r.total == NFLOWS,
		    "chunk %zu: link %u seq %u last %u total %u", i,
		    r.dead_link, r.seq, r.last, r.total);
		QUIET_ASSERT(r.nmoves ==
			(i < n - 1 ? CTL_MAX_MOVES
				   : NFLOWS - i * CTL_MAX_MOVES),
		    "chunk %zu: %zu moves", i, r.nmoves);
		QUIET_ASSERT(
		    memcmp(r.moves, mv + got, r.nmoves * sizeof(*mv)) == 0,
		    "chunk %zu: moves differ", i);
		got += r.nmoves;
		ctlmsg_reassign_free(&r);
		free(out);
	}
	ck_assert_uint_eq(got, NFLOWS);
	/* No chunk past the last; no total a uint32 cannot say. */
	out = NULL;
	ck_assert_int_eq(ctlmsg_encode_reassign_chunk(
			     DEAD, mv, NFLOWS, (uint32_t)n, &out, &outlen),
	    -1);
#if SIZE_MAX > UINT32_MAX
	ck_assert_int_eq(ctlmsg_encode_reassign_chunk(DEAD, mv,
			     (size_t)UINT32_MAX + 1, 0, &out, &outlen),
	    -1);
#endif
	ck_assert_ptr_null(out);
	/* A move onto the dead link fails its whole chunk, not the rest. */
	mv[CTL_MAX_MOVES + 1].link = DEAD;
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_chunk(DEAD, mv, NFLOWS, 0, &out, &outlen),
	    0);
	free(out);
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_chunk(DEAD, mv, NFLOWS, 1, &out, &outlen),
	    -1);
	free(mv);

	/* No flows: one empty last chunk. */
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_chunk(DEAD, NULL, 0, 0, &out, &outlen), 0);
	ck_assert_uint_eq(outlen - CTL_HDR_LEN,
	    strlen("{\"link\":5,\"seq\":0,\"last\":true,\"total\":0,"
		   "\"moves\":[]}"));
	ck_assert_mem_eq(out + CTL_HDR_LEN,
	    "{\"link\":5,\"seq\":0,\"last\":true,\"total\":0,\"moves\":[]}",
	    outlen - CTL_HDR_LEN);
	free(out);
	ck_assert_int_eq(
	    ctlmsg_encode_reassign_chunk(DEAD, NULL, 0, 1, &out, &outlen), -1);
}
END_TEST

/*
 * The widest chunk the encoder can write: CTL_MAX_MOVES moves between
 * the longest IPv6 addresses inet_ntop() writes, every number at its
 * widest.  Its size is known to the byte, and is under half the limit.
 */
START_TEST(test_reassign_worst_case)
{
	static const char head[] =
	    "{\"link\":30,\"seq\":4294967295,\"last\":false,"
	    "\"total\":4294967295,\"moves\":[";
	static const char move[] =
	    "[\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe\",65535,"
	    "\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\",65535,255,31]";
	struct ctl_reassign r, back;
	struct ctl_move    *mv;
	uint8_t            *out;
	size_t              outlen, want, i;
	char                err[CTL_ERRLEN];

	mv = calloc(CTL_MAX_MOVES + 1, sizeof(*mv));
	ck_assert_ptr_nonnull(mv);
	for (i = 0; i < CTL_MAX_MOVES + 1; i++)
		mk_move(&mv[i], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		    65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
		    255, 31);
	memset(&r, 0, sizeof(r));
	r.dead_link = 30;
	r.seq = UINT32_MAX;
	r.total = UINT32_MAX;
	r.nmoves = CTL_MAX_MOVES;
	r.moves = mv;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), 0);

	/* 104 bytes a move and a comma between two. */
	ck_assert_uint_eq(strlen(move), 104);
	want = strlen(head) + CTL_MAX_MOVES * (strlen(move) + 1) - 1 +
	    strlen("]}");
	ck_assert_uint_eq(outlen - CTL_HDR_LEN, want);
	ck_assert_uint_eq(want, 430150); /* "under 431 kB" in ctlmsg.h */
	ck_assert_uint_lt(want, CTL_MAX_BODY / 2);
	ck_assert_mem_eq(out + CTL_HDR_LEN, head, strlen(head));
	ck_assert_mem_eq(out + CTL_HDR_LEN + strlen(head), move, strlen(move));
	ck_assert_int_eq(ctlmsg_decode_reassign(out + CTL_HDR_LEN,
			     outlen - CTL_HDR_LEN, &back, err, sizeof(err)),
	    CTL_OK);
	ck_assert_uint_eq(back.nmoves, CTL_MAX_MOVES);
	ck_assert_mem_eq(back.moves, mv, CTL_MAX_MOVES * sizeof(*mv));
	ctlmsg_reassign_free(&back);
	ck_assert_ptr_null(back.moves);
	free(out);

	/* One move more is refused both ways. */
	r.nmoves = CTL_MAX_MOVES + 1;
	out = NULL;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	ck_assert_ptr_null(out);
	free(mv);
}
END_TEST

/* A peer's chunk of CTL_MAX_MOVES decodes; one more move does not. */
START_TEST(test_reassign_limits)
{
	static const char move[] = "[\"10.1.0.10\",40000,\"10.2.0.1\",443,6,1]";
	static const size_t counts[] = {CTL_MAX_MOVES, CTL_MAX_MOVES + 1};
	struct ctl_reassign r;
	char               *body, err[CTL_ERRLEN];
	size_t              size, off, i, j;
	uint8_t            *q;

	size = 128 + (CTL_MAX_MOVES + 1) * sizeof(move);
	body = malloc(size);
	ck_assert_ptr_nonnull(body);
	for (i = 0; i < NELEM(counts); i++) {
		off = (size_t)snprintf(body, size,
		    "{\"link\":2,\"seq\":0,\"last\":true,\"total\":%zu,"
		    "\"moves\":[",
		    counts[i]);
		for (j = 0; j < counts[i]; j++)
			off += (size_t)snprintf(
			    body + off, size - off, "%s%s", j ? "," : "", move);
		off += (size_t)snprintf(body + off, size - off, "]}");
		q = exact_copy(body, off);
		err[0] = '\0';
		if (counts[i] == CTL_MAX_MOVES) {
			ck_assert_msg(ctlmsg_decode_reassign(q, off, &r, err,
					  sizeof(err)) == CTL_OK,
			    "%s", err);
			ck_assert_uint_eq(r.nmoves, CTL_MAX_MOVES);
			ck_assert_uint_eq(
			    r.moves[CTL_MAX_MOVES - 1].key.pb, 443);
			ctlmsg_reassign_free(&r);
		} else {
			ck_assert_int_eq(ctlmsg_decode_reassign(
					     q, off, &r, err, sizeof(err)),
			    CTL_ERR_BODY);
			ck_assert_str_eq(
			    err, "moves: must have 0..4096 entries, got 4097");
			ck_assert_ptr_null(r.moves);
		}
		free(q);
	}
	free(body);
}
END_TEST

/*
 * Every prefix of a REASSIGN and an ACK frame is "need more" to the
 * framer, and every prefix of their bodies is refused with one line,
 * leaving nothing allocated (ASan would say).
 */
START_TEST(test_reassign_truncated)
{
	struct ctl_reassign_ack a = {2, 1};
	struct ctl_reassign     r;
	struct ctl_move         mv[2];
	struct ctl_frame        f;
	union ctl_body          m, zero;
	uint8_t                *frame[2], *q;
	size_t                  len[2], n, k;
	char                    err[CTL_ERRLEN];
	int                     type[2] = {CTL_REASSIGN, CTL_REASSIGN_ACK};

	memset(&zero, 0, sizeof(zero));
	small_reassign(&r, mv);
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &frame[0], &len[0]), 0);
	ck_assert_int_eq(ctlmsg_encode_reassign_ack(&a, &frame[1], &len[1]), 0);
	for (k = 0; k < 2; k++) {
		for (n = 0; n < len[k]; n++) {
			q = exact_copy(frame[k], n);
			QUIET_ASSERT(ctlmsg_frame(n == 0 ? NULL : q, n, &f) ==
				CTL_NEED_MORE,
			    "%zu of %zu bytes", n, len[k]);
			free(q);
		}
		for (n = 0; n < len[k] - CTL_HDR_LEN; n++) {
			q = exact_copy(frame[k] + CTL_HDR_LEN, n);
			err[0] = '\0';
			QUIET_ASSERT(decode(type[k], q, n, &m, err,
					 sizeof(err)) == CTL_ERR_BODY,
			    "%zu body bytes accepted", n);
			check_message(err);
			QUIET_ASSERT(memcmp(&m, &zero, sizeof(m)) == 0,
			    "half-filled after %zu bytes", n);
			free(q);
		}
		free(frame[k]);
	}
}
END_TEST

/* What the peer would refuse, or would read as another flow, is not sent. */
START_TEST(test_reassign_encode_refuses)
{
	struct ctl_reassign r;
	struct ctl_move     mv[2];
	uint8_t            *out = NULL;
	size_t              outlen = 7;

	small_reassign(&r, mv);
	r.last = 2;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	r.moves = NULL;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	r.dead_link = PROTO_MAX_LINKS;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	r.total = 1; /* fewer than this chunk's moves */
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	mv[1].link = 2; /* the dead link */
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	mv[1].link = PROTO_MAX_LINKS;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	mv[0].key.family = 0;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	mv[0].key.a[4] = 1; /* past the IPv4 address */
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	mv[0].key.pad[1] = 1;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	small_reassign(&r, mv);
	/* Reversed: the PoP would look up a key its table never has. */
	memcpy(mv[0].key.a, mv[0].key.b, sizeof(mv[0].key.a));
	mv[0].key.b[0] = 10;
	mv[0].key.b[1] = 1;
	mv[0].key.b[2] = 0;
	mv[0].key.b[3] = 10;
	ck_assert_int_eq(ctlmsg_encode_reassign(&r, &out, &outlen), -1);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(outlen, 7);
}
END_TEST

/* ------------------------------------------------------------ garbage */

/*
 * Whatever arrives: framing says one of its four answers and never points
 * outside the input; a decoder either refuses with one printable line or
 * accepts something that encodes and decodes back to the same struct.
 */
static void
check_any(const uint8_t *buf, size_t len, size_t *accepted)
{
	struct ctl_frame f;
	union ctl_body   m, back;
	uint8_t         *q, *out;
	size_t           outlen;
	char             err[CTL_ERRLEN];
	int              rc, t;

	q = exact_copy(buf, len);
	rc = ctlmsg_frame(q, len, &f);
	QUIET_ASSERT(rc == CTL_OK || rc == CTL_NEED_MORE ||
		rc == CTL_ERR_OVERSIZE || rc == CTL_ERR_TYPE,
	    "ctlmsg_frame: %d", rc);
	if (rc == CTL_OK) {
		QUIET_ASSERT(f.frame_len <= len &&
			f.frame_len == f.body_len + CTL_HDR_LEN &&
			f.body == q + CTL_HDR_LEN,
		    "frame outside the input");
		QUIET_ASSERT(
		    f.type >= 1 && f.type <= CTL_TYPE_MAX, "type %d", f.type);
	}
	free(q);
	/* Every decoder on the bytes, frame or not. */
	for (t = 1; t <= CTL_TYPE_MAX; t++) {
		q = exact_copy(buf, len);
		err[0] = '\0';
		rc = decode(t, q, len, &m, err, sizeof(err));
		free(q);
		if (rc == CTL_ERR_BODY) {
			check_message(err);
			continue;
		}
		QUIET_ASSERT(rc == CTL_OK, "decode: %d", rc);
		(*accepted)++;
		QUIET_ASSERT(encode(t, &m, &out, &outlen) == 0,
		    "%s accepted but does not encode", ctlmsg_type_name(t));
		rc = decode(t, out + CTL_HDR_LEN, outlen - CTL_HDR_LEN, &back,
		    err, sizeof(err));
		QUIET_ASSERT(rc == CTL_OK, "re-decode: %s", err);
		QUIET_ASSERT(same(t, &m, &back), "%s does not round-trip",
		    ctlmsg_type_name(t));
		release(t, &m);
		release(t, &back);
		free(out);
	}
}

START_TEST(test_garbage)
{
	/* Pieces of JSON, so that some garbage gets past the parser. */
	static const char *const tokens[] = {"{", "}", "[", "]", ",", ":",
	    "\"version\"", "\"site\"", "\"links\"", "\"lan\"", "\"name\"",
	    "\"id\"", "\"up_mbps\"", "\"down_mbps\"", "\"session\"",
	    "\"data_port\"", "\"probe\"", "\"interval_ms\"", "\"epoch\"",
	    "\"reason\"", "\"link\"", "\"up\"", "\"rtt_us\"", "\"loss_ppm\"",
	    "\"jitter_us\"", "\"degraded\"", "\"voice\"", "0", "1", "31",
	    "65535", "-1", "4294967295", "1e3", "true", "null", "\"WAN1\"",
	    "\"10.0.0.0/8\"", "\"::/0\"", "\"\"", " ", "\"seq\"", "\"last\"",
	    "\"total\"", "\"moves\"", "false", "\"10.1.0.10\"",
	    "\"203.0.113.10\"", "\"2001:db8::1\"", "\"2001:db8::2\"", "443",
	    "6", "17"};
	union ctl_body           m;
	struct ctl_move          mv[2];
	uint8_t                 *frames[10], buf[512];
	size_t   flens[10], nframes = 0, i, len, n, accepted = 0, j;
	uint64_t s = 0x5eed5eedULL, r;

	/* Valid frames of every type, to mutate. */
	memset(&m, 0, sizeof(m));
	small_hello(&m.hello);
	ck_assert_int_eq(
	    encode(CTL_HELLO, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	m.welcome = (struct ctl_welcome){2, 1, 9, 4789, 100, 3, 5};
	ck_assert_int_eq(
	    encode(CTL_WELCOME, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	m.link_state = (struct ctl_link_state){4, 1, 100, 200, 7, 1, {"voice"}};
	ck_assert_int_eq(
	    encode(CTL_LINK_STATE, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	m.rekey.epoch = 3;
	ck_assert_int_eq(
	    encode(CTL_REKEY, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	snprintf(m.bye.reason, sizeof(m.bye.reason), "done");
	ck_assert_int_eq(
	    encode(CTL_BYE, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	ck_assert_int_eq(
	    encode(CTL_KEEPALIVE, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	small_reassign(&m.reassign, mv);
	ck_assert_int_eq(
	    encode(CTL_REASSIGN, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;
	memset(&m, 0, sizeof(m));
	m.reassign_ack = (struct ctl_reassign_ack){2, 0};
	ck_assert_int_eq(
	    encode(CTL_REASSIGN_ACK, &m, &frames[nframes], &flens[nframes]), 0);
	nframes++;

	for (i = 0; i < 100000; i++) {
		r = rng_next(&s);
		switch (i % 3) {
		case 0: /* random bytes */
			len = r % (sizeof(buf) / 4);
			for (j = 0; j < len; j++)
				buf[j] = (uint8_t)rng_next(&s);
			break;
		case 1: /* a valid frame with a few bytes changed or cut */
			j = (r >> 8) % nframes;
			len = flens[j];
			memcpy(buf, frames[j], len);
			for (n = (r >> 16) % 4 + 1; n > 0; n--) {
				r = rng_next(&s);
				buf[r % len] = (uint8_t)(r >> 32);
			}
			if ((r >> 40) % 4 == 0)
				len = (r >> 48) % (len + 1);
			/* The body alone, so the decoders see it. */
			if (len >= CTL_HDR_LEN && (r >> 56) % 2 == 0) {
				memmove(
				    buf, buf + CTL_HDR_LEN, len - CTL_HDR_LEN);
				len -= CTL_HDR_LEN;
			}
			break;
		default: /* JSON-ish token soup */
			len = 0;
			for (n = r % 40; n > 0; n--) {
				const char *t =
				    tokens[rng_next(&s) % NELEM(tokens)];
				if (len + strlen(t) > sizeof(buf))
					break;
				memcpy(buf + len, t, strlen(t));
				len += strlen(t);
			}
			break;
		}
		check_any(buf, len, &accepted);
	}
	/* The run exercised the accepting paths, not only the refusals. */
	ck_assert_uint_gt(accepted, 100);
	for (i = 0; i < nframes; i++)
		free(frames[i]);
}
END_TEST

static Suite *
ctlmsg_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("ctlmsg");

	tc = tcase_create("encode");
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_decode_entry);
	tcase_add_test(tc, test_round_trip_hello);
	tcase_add_test(tc, test_round_trip_welcome);
	tcase_add_test(tc, test_round_trip_small);
	tcase_add_test(tc, test_exact_bytes);
	tcase_add_test(tc, test_exact_bytes_welcome_link_state_bye);
	tcase_add_test(tc, test_encode_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("reassign");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_reassign_round_trip);
	tcase_add_test(tc, test_reassign_ack);
	tcase_add_test(tc, test_reassign_no_link);
	tcase_add_test(tc, test_reassign_chunked);
	tcase_add_test(tc, test_reassign_worst_case);
	tcase_add_test(tc, test_reassign_limits);
	tcase_add_test(tc, test_reassign_truncated);
	tcase_add_test(tc, test_reassign_encode_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("frame");
	tcase_add_test(tc, test_frame_truncated);
	tcase_add_test(tc, test_frame_exact);
	tcase_add_test(tc, test_frame_back_to_back);
	tcase_add_test(tc, test_frame_oversize);
	tcase_add_test(tc, test_frame_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_bad_bodies);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_small_err_buffer);
	tcase_add_test(tc, test_deep_nesting);
	suite_add_tcase(s, tc);

	tc = tcase_create("garbage");
	/* 100k inputs, eight parses each, under sanitizers. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ctlmsg_suite());
}
