/*
 * Inside proto/ctlmsg: what its decoders, encoders and their JSON toolkit
 * (ctlmsg-json.c) share.  Not for use outside ctlmsg*.c.
 *
 * The toolkit's getters return 0 with the value, or -1 having written
 * one sentence, "PATH.KEY: what is wrong", into the decoder's error
 * buffer (struct dec).
 */
#ifndef WANPAIR_CTLMSG_INT_H
#define WANPAIR_CTLMSG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctlmsg.h"
#include "jsonpos.h"

/* The peer gets no more latitude than a local configuration: proto.h. */
#define MBPS_MAX           PROTO_MBPS_MAX
#define PROBE_INTERVAL_MIN PROTO_PROBE_INTERVAL_MIN
#define PROBE_INTERVAL_MAX PROTO_PROBE_INTERVAL_MAX
#define PROBE_COUNT_MAX    PROTO_PROBE_COUNT_MAX
#define LOSS_PPM_MAX       PROTO_LOSS_PPM_MAX

/*
 * Bytes of a bad value repeated in a message: enough to recognise it,
 * little enough that path, sentence and value fit in CTL_ERRLEN.
 */
#define QUOTE_MAX 32

#define PATH_MAX_LEN 32 /* "links[31]", "lan[255]", "moves[4095][5]" */

/* A move is [address, port, address, port, protocol, link]. */
#define MOVE_FIELDS 6

/*
 * The widest move the encoder writes, with the comma after it: two IPv6
 * addresses of 39 characters (eight groups of four hex digits, the
 * longest inet_ntop() writes), in quotes, ports 65535, protocol 255, a
 * two-digit link.  And the rest of the widest chunk around the moves.
 */
#define MOVE_JSON_MAX (sizeof("[\"\",65535,\"\",65535,255,31],") - 1 + 2 * 39)
#define REASSIGN_HEAD_MAX                                                      \
	(sizeof("{\"link\":31,\"seq\":4294967295,\"last\":false,"              \
		"\"total\":4294967295,\"moves\":[]}") -                        \
	    1)

/* Where a decoder writes its one sentence. */
struct dec {
	char  *err;
	size_t errlen;
};

struct quoted {
	char s[QUOTE_MAX * 6 + 8]; /* every byte may become \u00XX */
};

int __attribute__((format(printf, 4, 5))) dec_fail(
    struct dec *d, const char *path, const char *key, const char *fmt, ...);
const char *dec_quote(struct quoted *q, const char *s, size_t len);
int         dec_check_keys(
	    struct dec *d, json_t *obj, const char *path, const char *const *known);
json_t *dec_member(
    struct dec *d, json_t *obj, const char *path, const char *key);
int dec_uint_in(struct dec *d, json_t *v, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out);
int dec_get_uint(struct dec *d, json_t *obj, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out);
int dec_get_dead_link(struct dec *d, json_t *obj, uint8_t *out);
/* "version" of HELLO and WELCOME: read first and refused unless it is
 * PROTOCOL_VERSION, so that a peer of another version hears that, not
 * what its message lacks. */
int dec_version(struct dec *d, json_t *obj, uint32_t *out);
int dec_get_bool(struct dec *d, json_t *obj, const char *path, const char *key,
    uint8_t *out);
int dec_get_name(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, char *dst, size_t size, enum jsonpos_name rule);
int dec_get_array(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, size_t max, json_t **out);
int dec_get_object(struct dec *d, json_t *obj, const char *path,
    const char *key, const char *const *known, json_t **out);
json_t *dec_load(
    struct dec *d, const uint8_t *body, size_t len, const char *const *known);

#endif
