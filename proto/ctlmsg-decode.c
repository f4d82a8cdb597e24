#include "autoconf.h"

#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "ctlmsg-int.h"
#include "jsonpos.h"

static const char *const hello_keys[] = {
    "version", "workers", "site", "links", "lan", NULL};
static const char *const link_keys[] = {
    "name", "id", "up_mbps", "down_mbps", NULL};
static const char *const welcome_keys[] = {
    "version", "workers", "session", "data_port", "probe", NULL};
static const char *const probe_keys[] = {
    "interval_ms", "down_after", "up_after", NULL};
static const char *const link_state_keys[] = {
    "link", "up", "rtt_us", "loss_ppm", "jitter_us", "degraded", NULL};
static const char *const rekey_keys[] = {"epoch", NULL};
static const char *const bye_keys[] = {"reason", NULL};
static const char *const reassign_keys[] = {
    "link", "seq", "last", "total", "moves", NULL};
static const char *const reassign_ack_keys[] = {"link", "seq", NULL};
static const char *const no_keys[] = {NULL};

/* ------------------------------------------------------------ decoders */

static int
decode_link(struct dec *d, json_t *o, const char *path, struct ctl_link *l)
{
	uint32_t id;

	if (!json_is_object(o))
		return dec_fail(d, path, NULL, "must be an object, got %s",
		    jsonpos_type_name(o));
	if (dec_check_keys(d, o, path, link_keys) == -1 ||
	    dec_get_name(d, o, path, "name", 1, l->name, sizeof(l->name),
		JSONPOS_NAME_WORD) == -1 ||
	    dec_get_uint(d, o, path, "id", 0, PROTO_MAX_LINKS - 1, &id) == -1 ||
	    dec_get_uint(d, o, path, "up_mbps", 1, MBPS_MAX, &l->up_mbps) ==
		-1 ||
	    dec_get_uint(d, o, path, "down_mbps", 1, MBPS_MAX, &l->down_mbps) ==
		-1)
		return -1;
	l->id = (uint8_t)id;
	return 0;
}

int
ctlmsg_decode_hello(const uint8_t *body, size_t len, struct ctl_hello *h,
    char *err, size_t errlen)
{
	struct dec    d = {err, errlen};
	struct quoted q;
	const char   *why, *s;
	json_t       *root, *links = NULL, *lan = NULL, *v;
	char          path[PATH_MAX_LEN];
	size_t        i, j;
	int           rc = CTL_ERR_BODY;

	memset(h, 0, sizeof(*h));
	if ((root = dec_load(&d, body, len, hello_keys)) == NULL)
		goto out;
	if (dec_version(&d, root, &h->version) == -1 ||
	    dec_get_uint(&d, root, NULL, "workers", 1, PROTO_MAX_WORKERS,
		&h->workers) == -1 ||
	    dec_get_name(&d, root, NULL, "site", 1, h->site, sizeof(h->site),
		JSONPOS_NAME_TEXT) == -1 ||
	    dec_get_array(
		&d, root, NULL, "links", 1, PROTO_MAX_LINKS, &links) == -1 ||
	    dec_get_array(&d, root, NULL, "lan", 0, CTL_MAX_LAN, &lan) == -1)
		goto out;

	h->nlinks = json_array_size(links);
	for (i = 0; i < h->nlinks; i++) {
		snprintf(path, sizeof(path), "links[%zu]", i);
		if (decode_link(
			&d, json_array_get(links, i), path, &h->links[i]) == -1)
			goto out;
		/*
		 * The PoP keys its per-link state by id and reports by name;
		 * either repeated would merge two links into one.
		 */
		for (j = 0; j < i; j++) {
			if (strcmp(h->links[j].name, h->links[i].name) == 0) {
				dec_fail(&d, path, "name",
				    "duplicate link name %s (also links[%zu])",
				    dec_quote(&q, h->links[i].name,
					strlen(h->links[i].name)),
				    j);
				goto out;
			}
			if (h->links[j].id == h->links[i].id) {
				dec_fail(&d, path, "id",
				    "duplicate link id %u (also links[%zu])",
				    h->links[i].id, j);
				goto out;
			}
		}
	}

	h->nlan = json_array_size(lan);
	for (i = 0; i < h->nlan; i++) {
		snprintf(path, sizeof(path), "lan[%zu]", i);
		v = json_array_get(lan, i);
		if (!json_is_string(v)) {
			dec_fail(&d, path, NULL, "must be a string, got %s",
			    jsonpos_type_name(v));
			goto out;
		}
		s = json_string_value(v);
		if (prefix_parse(s, &h->lan[i], &why) == -1) {
			dec_fail(&d, path, NULL, "%s; got %s", why,
			    dec_quote(&q, s, json_string_length(v)));
			goto out;
		}
	}
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(h, 0, sizeof(*h));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_welcome(const uint8_t *body, size_t len, struct ctl_welcome *w,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root, *probe = NULL;
	uint32_t   port;
	int        rc = CTL_ERR_BODY;

	memset(w, 0, sizeof(*w));
	if ((root = dec_load(&d, body, len, welcome_keys)) == NULL)
		goto out;
	if (dec_version(&d, root, &w->version) == -1 ||
	    dec_get_uint(&d, root, NULL, "workers", 1, PROTO_MAX_WORKERS,
		&w->workers) == -1 ||
	    dec_get_uint(
		&d, root, NULL, "session", 1, UINT32_MAX, &w->session) == -1 ||
	    dec_get_uint(&d, root, NULL, "data_port", 1, UINT16_MAX, &port) ==
		-1 ||
	    dec_get_object(&d, root, NULL, "probe", probe_keys, &probe) == -1 ||
	    dec_get_uint(&d, probe, "probe", "interval_ms", PROBE_INTERVAL_MIN,
		PROBE_INTERVAL_MAX, &w->probe_interval_ms) == -1 ||
	    dec_get_uint(&d, probe, "probe", "down_after", 1, PROBE_COUNT_MAX,
		&w->probe_down_after) == -1 ||
	    dec_get_uint(&d, probe, "probe", "up_after", 1, PROBE_COUNT_MAX,
		&w->probe_up_after) == -1)
		goto out;
	w->data_port = (uint16_t)port;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(w, 0, sizeof(*w));
	json_decref(root);
	return rc;
}

/* LINK_STATE's "degraded": profile names, each once. */
static int
decode_degraded(struct dec *d, json_t *arr, struct ctl_link_state *ls)
{
	struct quoted q;
	const char   *s;
	json_t       *v;
	char          path[PATH_MAX_LEN];
	size_t        i, j, len;

	for (i = 0; i < json_array_size(arr); i++) {
		snprintf(path, sizeof(path), "degraded[%zu]", i);
		v = json_array_get(arr, i);
		if (!json_is_string(v))
			return dec_fail(d, path, NULL,
			    "must be a string, got %s", jsonpos_type_name(v));
		s = json_string_value(v);
		len = json_string_length(v);
		if (len < 1 || len >= PROTO_NAME_MAX)
			return dec_fail(d, path, NULL,
			    "must be 1..%d characters long, got %zu",
			    PROTO_NAME_MAX - 1, len);
		if (!jsonpos_name_ok(s, len, JSONPOS_NAME_WORD))
			return dec_fail(d, path, NULL,
			    "must contain only letters, digits, \"_\", "
			    "\".\" and \"-\"; got %s",
			    dec_quote(&q, s, len));
		for (j = 0; j < i; j++)
			if (strcmp(ls->degraded[j], s) == 0)
				return dec_fail(d, path, NULL,
				    "duplicate profile %s (also degraded[%zu])",
				    dec_quote(&q, s, len), j);
		memcpy(ls->degraded[i], s, len);
		ls->ndegraded = i + 1;
	}
	return 0;
}

int
ctlmsg_decode_link_state(const uint8_t *body, size_t len,
    struct ctl_link_state *ls, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root, *arr;
	uint32_t   link;
	int        rc = CTL_ERR_BODY;

	memset(ls, 0, sizeof(*ls));
	if ((root = dec_load(&d, body, len, link_state_keys)) == NULL)
		goto out;
	if (dec_get_uint(
		&d, root, NULL, "link", 0, PROTO_MAX_LINKS - 1, &link) == -1 ||
	    dec_get_bool(&d, root, NULL, "up", &ls->up) == -1 ||
	    dec_get_uint(
		&d, root, NULL, "rtt_us", 0, UINT32_MAX, &ls->rtt_us) == -1 ||
	    dec_get_uint(&d, root, NULL, "loss_ppm", 0, LOSS_PPM_MAX,
		&ls->loss_ppm) == -1)
		goto out;
	/* Optional: see ctlmsg.h. */
	if (json_object_get(root, "jitter_us") != NULL &&
	    dec_get_uint(&d, root, NULL, "jitter_us", 0, UINT32_MAX,
		&ls->jitter_us) == -1)
		goto out;
	if (json_object_get(root, "degraded") != NULL &&
	    (dec_get_array(
		 &d, root, NULL, "degraded", 0, CTL_MAX_DEGRADED, &arr) == -1 ||
		decode_degraded(&d, arr, ls) == -1))
		goto out;
	ls->link = (uint8_t)link;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(ls, 0, sizeof(*ls));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_rekey(const uint8_t *body, size_t len, struct ctl_rekey *r,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(r, 0, sizeof(*r));
	if ((root = dec_load(&d, body, len, rekey_keys)) == NULL)
		goto out;
	if (dec_get_uint(&d, root, NULL, "epoch", 0, UINT32_MAX, &r->epoch) ==
	    -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(r, 0, sizeof(*r));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_bye(const uint8_t *body, size_t len, struct ctl_bye *b, char *err,
    size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(b, 0, sizeof(*b));
	if ((root = dec_load(&d, body, len, bye_keys)) == NULL)
		goto out;
	if (dec_get_name(&d, root, NULL, "reason", 0, b->reason,
		sizeof(b->reason), JSONPOS_NAME_TEXT) == -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(b, 0, sizeof(*b));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_keepalive(
    const uint8_t *body, size_t len, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;

	if ((root = dec_load(&d, body, len, no_keys)) == NULL)
		return CTL_ERR_BODY;
	json_decref(root);
	return CTL_OK;
}

/*
 * Element i of a move, named moves[N][i] in a message.  Callers checked
 * that the move has MOVE_FIELDS elements.
 */
static int
move_uint(struct dec *d, json_t *mv, const char *path, size_t i, uint32_t max,
    uint32_t *out)
{
	/* path is at most PATH_MAX_LEN - 1 bytes: room for "[N]" too */
	char epath[PATH_MAX_LEN + 24];

	snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
	return dec_uint_in(d, json_array_get(mv, i), epath, NULL, 0, max, out);
}

/* An address of the move; the second must have the family of `first`. */
static int
move_addr(struct dec *d, json_t *mv, const char *path, size_t i,
    const struct wp_addr *first, struct wp_addr *out)
{
	struct quoted q;
	const char   *s;
	json_t       *v;
	char          epath[PATH_MAX_LEN];

	snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
	v = json_array_get(mv, i);
	if (!json_is_string(v))
		return dec_fail(d, epath, NULL, "must be a string, got %s",
		    jsonpos_type_name(v));
	s = json_string_value(v);
	/* inet_pton() stops at a NUL; jansson refuses \u0000 in strings. */
	if (addr_parse(s, out) == -1)
		return dec_fail(d, epath, NULL,
		    "not an IPv4 or IPv6 address; got %s",
		    dec_quote(&q, s, json_string_length(v)));
	if (first != NULL && out->family != first->family)
		return dec_fail(d, epath, NULL,
		    "an %s address in an %s flow; got %s",
		    out->family == AF_INET ? "IPv4" : "IPv6",
		    first->family == AF_INET ? "IPv4" : "IPv6",
		    dec_quote(&q, s, json_string_length(v)));
	return 0;
}

static int
decode_move(
    struct dec *d, json_t *v, size_t i, uint8_t dead, struct ctl_move *mv)
{
	struct wp_addr a, b;
	uint32_t       pa, pb, proto, link;
	char           path[PATH_MAX_LEN];
	int            c;

	snprintf(path, sizeof(path), "moves[%zu]", i);
	if (!json_is_array(v))
		return dec_fail(d, path, NULL, "must be an array, got %s",
		    jsonpos_type_name(v));
	if (json_array_size(v) != MOVE_FIELDS)
		return dec_fail(d, path, NULL,
		    "must be [address, port, address, port, protocol, link], "
		    "got %zu entries",
		    json_array_size(v));
	if (move_addr(d, v, path, 0, NULL, &a) == -1 ||
	    move_uint(d, v, path, 1, UINT16_MAX, &pa) == -1 ||
	    move_addr(d, v, path, 2, &a, &b) == -1 ||
	    move_uint(d, v, path, 3, UINT16_MAX, &pb) == -1 ||
	    move_uint(d, v, path, 4, UINT8_MAX, &proto) == -1 ||
	    move_uint(d, v, path, 5, PROTO_MAX_LINKS - 1, &link) == -1)
		return -1;
	if (link == dead) {
		snprintf(path, sizeof(path), "moves[%zu][5]", i);
		return dec_fail(d, path, NULL,
		    "link %" PRIu32 " is the link that failed", link);
	}
	/*
	 * The order flow_key_from_pkt() gives: the lower (address, port)
	 * first.  The PoP finds the flow by this key; a reversed one would
	 * silently match nothing.
	 */
	c = flow_key_order(a.a, (uint16_t)pa, b.a, (uint16_t)pb);
	if (c > 0)
		return dec_fail(d, path, NULL,
		    "not a normalised flow key: the lower address (then port) "
		    "comes first");
	memcpy(mv->key.a, a.a, sizeof(mv->key.a));
	memcpy(mv->key.b, b.a, sizeof(mv->key.b));
	mv->key.pa = (uint16_t)pa;
	mv->key.pb = (uint16_t)pb;
	mv->key.proto = (uint8_t)proto;
	mv->key.family = a.family;
	mv->link = (uint8_t)link;
	return 0;
}

int
ctlmsg_decode_reassign(const uint8_t *body, size_t len, struct ctl_reassign *r,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root, *moves = NULL;
	size_t     i;
	int        rc = CTL_ERR_BODY;

	memset(r, 0, sizeof(*r));
	/* dec_load() refuses a body over CTL_MAX_BODY before parsing it. */
	if ((root = dec_load(&d, body, len, reassign_keys)) == NULL)
		goto out;
	if (dec_get_dead_link(&d, root, &r->dead_link) == -1 ||
	    dec_get_uint(&d, root, NULL, "seq", 0, UINT32_MAX, &r->seq) == -1 ||
	    dec_get_bool(&d, root, NULL, "last", &r->last) == -1 ||
	    dec_get_uint(&d, root, NULL, "total", 0, UINT32_MAX, &r->total) ==
		-1 ||
	    dec_get_array(&d, root, NULL, "moves", 0, CTL_MAX_MOVES, &moves) ==
		-1)
		goto out;
	r->nmoves = json_array_size(moves);
	if (r->nmoves > r->total) {
		dec_fail(&d, NULL, "total",
		    "must be at least %zu, the moves in this chunk; got "
		    "%" PRIu32,
		    r->nmoves, r->total);
		goto out;
	}
	/* Bounded by CTL_MAX_MOVES above: at most a few hundred kB. */
	if (r->nmoves > 0 &&
	    (r->moves = calloc(r->nmoves, sizeof(*r->moves))) == NULL) {
		dec_fail(
		    &d, NULL, NULL, "out of memory for %zu moves", r->nmoves);
		goto out;
	}
	for (i = 0; i < r->nmoves; i++)
		if (decode_move(&d, json_array_get(moves, i), i, r->dead_link,
			&r->moves[i]) == -1)
			goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK) {
		free(r->moves);
		memset(r, 0, sizeof(*r));
	}
	json_decref(root);
	return rc;
}

void
ctlmsg_reassign_free(struct ctl_reassign *r)
{
	if (r == NULL)
		return;
	free(r->moves);
	memset(r, 0, sizeof(*r));
}

int
ctlmsg_decode_reassign_ack(const uint8_t *body, size_t len,
    struct ctl_reassign_ack *a, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(a, 0, sizeof(*a));
	if ((root = dec_load(&d, body, len, reassign_ack_keys)) == NULL)
		goto out;
	if (dec_get_dead_link(&d, root, &a->link) == -1 ||
	    dec_get_uint(&d, root, NULL, "seq", 0, UINT32_MAX, &a->seq) == -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(a, 0, sizeof(*a));
	json_decref(root);
	return rc;
}
