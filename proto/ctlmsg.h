/*
 * Control-channel messages (DESIGN.md section 6).
 *
 * A frame is a 4-byte big-endian body length, a 1-byte type, then the
 * body: a JSON object (at most CTL_MAX_BODY bytes).  Unknown types,
 * oversized bodies and bodies that do not decode are errors; the caller
 * closes that one connection.  The first frame each way carries
 * PROTOCOL_VERSION (HELLO from the Socket, WELCOME from the PoP).
 *
 * Everything here is pure: bytes in, structs out, and back.  Decoders
 * never trust a length or an index from the peer; each fills its struct
 * completely or fails with a sentence in `err` quoting the bad field.
 * Encoders return a malloc'd frame (header + body) the caller frees.
 */
#ifndef WANPAIR_CTLMSG_H
#define WANPAIR_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

#define CTL_HDR_LEN  5
#define CTL_MAX_BODY (1024 * 1024)
#define CTL_MAX_LAN  256 /* LAN prefixes a site may announce */
#define CTL_ERRLEN   160

enum ctl_type {
	CTL_HELLO = 1,      /* Socket -> PoP: site, version, links, LAN */
	CTL_WELCOME = 2,    /* PoP -> Socket: session id, data port, probes */
	CTL_KEEPALIVE = 3,  /* either way, when nothing else was sent */
	CTL_LINK_STATE = 4, /* either way: a link's state and figures */
	CTL_REASSIGN = 5,   /* Socket -> PoP: flows moved off a dead link */
	CTL_REKEY = 6,      /* either way: switch to the next key epoch */
	CTL_BYE = 7,        /* either way: closing, with a reason */
	CTL_TYPE_MAX = 7
};

enum ctl_err {
	CTL_NEED_MORE = 1, /* not a whole frame yet */
	CTL_OK = 0,
	CTL_ERR_OVERSIZE = -1, /* body length > CTL_MAX_BODY */
	CTL_ERR_TYPE = -2,     /* type not in enum ctl_type */
	CTL_ERR_BODY = -3      /* body is not the JSON the type needs */
};

/* A frame found in a byte stream; body points into the caller's bytes. */
struct ctl_frame {
	uint8_t        type;
	const uint8_t *body;
	size_t         body_len;
	size_t         frame_len; /* header + body: bytes to consume */
};

/*
 * Looks for one frame at the start of `buf`.  Returns CTL_OK with *f set,
 * CTL_NEED_MORE when more bytes are needed (f untouched), or a negative
 * enum ctl_err.  Checks the type and the length before anything else, so
 * an oversized or unknown frame is refused from its first 5 bytes.
 */
int ctlmsg_frame(const uint8_t *buf, size_t len, struct ctl_frame *f);

struct ctl_link {
	char     name[CONFIG_NAME_MAX];
	uint8_t  id; /* the link_id in data-plane headers */
	uint32_t up_mbps;
	uint32_t down_mbps;
};

struct ctl_hello {
	uint32_t         version;
	char             site[CONFIG_SITE_MAX];
	struct ctl_link  links[CONFIG_MAX_LINKS];
	size_t           nlinks;
	struct wp_prefix lan[CTL_MAX_LAN];
	size_t           nlan;
};

struct ctl_welcome {
	uint32_t version;
	uint32_t session;   /* data-plane session id, never 0 */
	uint16_t data_port; /* the PoP's UDP port for the data plane */
	uint32_t probe_interval_ms;
	uint32_t probe_down_after;
	uint32_t probe_up_after;
};

struct ctl_link_state {
	uint8_t  link;     /* link id */
	uint8_t  up;       /* 1 up, 0 down */
	uint32_t rtt_us;   /* smoothed round-trip time */
	uint32_t loss_ppm; /* smoothed loss, parts per million */
};

struct ctl_rekey {
	uint32_t epoch; /* keys of this epoch from now on */
};

struct ctl_bye {
	char reason[CTL_ERRLEN];
};

/* Decoders: CTL_OK, or CTL_ERR_BODY with a sentence in err. */
int ctlmsg_decode_hello(const uint8_t *body, size_t len, struct ctl_hello *,
    char *err, size_t errlen);
int ctlmsg_decode_welcome(const uint8_t *body, size_t len, struct ctl_welcome *,
    char *err, size_t errlen);
int ctlmsg_decode_link_state(const uint8_t *body, size_t len,
    struct ctl_link_state *, char *err, size_t errlen);
int ctlmsg_decode_rekey(const uint8_t *body, size_t len, struct ctl_rekey *,
    char *err, size_t errlen);
int ctlmsg_decode_bye(const uint8_t *body, size_t len, struct ctl_bye *,
    char *err, size_t errlen);
/* KEEPALIVE: the body must be an empty object. */
int ctlmsg_decode_keepalive(
    const uint8_t *body, size_t len, char *err, size_t errlen);

/* Encoders: a malloc'd frame in *out (length *outlen); 0, or -1 if the
 * message cannot be encoded (allocation, or fields out of range). */
int ctlmsg_encode_hello(
    const struct ctl_hello *, uint8_t **out, size_t *outlen);
int ctlmsg_encode_welcome(
    const struct ctl_welcome *, uint8_t **out, size_t *outlen);
int ctlmsg_encode_link_state(
    const struct ctl_link_state *, uint8_t **out, size_t *outlen);
int ctlmsg_encode_rekey(
    const struct ctl_rekey *, uint8_t **out, size_t *outlen);
int ctlmsg_encode_bye(const struct ctl_bye *, uint8_t **out, size_t *outlen);
int ctlmsg_encode_keepalive(uint8_t **out, size_t *outlen);

const char *ctlmsg_type_name(int type);

#endif
