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
 *
 * REASSIGN (DESIGN.md section 4, "Failover and failback").  When a link
 * dies the Socket moves every flow on it to live links, applies that to
 * its own direction and tells the PoP, which applies it to the other:
 *
 *   {"link":2,"seq":0,"last":true,"total":2,"moves":[
 *     ["10.1.0.10",40000,"203.0.113.10",443,6,0],
 *     ["2001:db8:1::10",40001,"2001:db8:ff::1",53,17,1]]}
 *
 * "link" is the link that failed; each move is a flow key as
 * flow_key_from_pkt() normalises it (address a, port a, address b, port
 * b, IP protocol) and the link it uses from now on, never the dead one.
 * Both sides compute the same normalised key for a conversation, so the
 * PoP looks each move up in its flow table as it stands; a key that is
 * not normalised would silently match nothing and is refused instead.
 * Moves are arrays, not objects, to keep a chunk small.
 *
 * A failover of 100,000 flows does not fit one frame, and one frame of
 * 1 MiB would stall the PoP's event loop (the data plane's too) while
 * jansson parses it.  So the moves travel in chunks of at most
 * CTL_MAX_MOVES: chunk `seq` (0, 1, ...) carries moves[seq *
 * CTL_MAX_MOVES...], every chunk says the `total` across all chunks, and
 * only the final one has "last":true.  Even a failover without flows
 * sends one (empty, last) chunk, so every failover ends the same way.
 * The worst case, IPv6 addresses and every number at its widest, is 105
 * bytes a move and under 431 kB a chunk: less than half of CTL_MAX_BODY
 * (asserted at compile time in ctlmsg.c and measured in the tests).
 *
 * The PoP answers each chunk it has applied with REASSIGN_ACK
 * {"link":2,"seq":0}; the acknowledgement of the last seq means the
 * whole failover is applied at both ends.
 *
 * Flows also move when no link failed: back to a returning link (failback
 * "rebalance", or flows that had nowhere to go while every link was down)
 * and when the Socket restates, after its control channel reconnects,
 * where every flow it ever moved is now.  Such a REASSIGN has no "link"
 * (dead_link is CTL_LINK_NONE), nor has its REASSIGN_ACK.
 */
#ifndef WANPAIR_CTLMSG_H
#define WANPAIR_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flowkey.h"
#include "proto.h"

#define CTL_HDR_LEN  5
#define CTL_MAX_BODY (1024 * 1024)
#define CTL_MAX_LAN  256 /* LAN prefixes a site may announce */
#define CTL_ERRLEN   160
/* Moves in one REASSIGN chunk; see above for why not more. */
#define CTL_MAX_MOVES 4096
/* dead_link of a REASSIGN (and its ACK) that no link failure caused. */
#define CTL_LINK_NONE 0xff

enum ctl_type {
	CTL_HELLO = 1,        /* Socket -> PoP: site, version, links, LAN */
	CTL_WELCOME = 2,      /* PoP -> Socket: session id, data port, probes */
	CTL_KEEPALIVE = 3,    /* either way, when nothing else was sent */
	CTL_LINK_STATE = 4,   /* either way: a link's state and figures */
	CTL_REASSIGN = 5,     /* Socket -> PoP: flows moved off a dead link */
	CTL_REKEY = 6,        /* either way: switch to the next key epoch */
	CTL_BYE = 7,          /* either way: closing, with a reason */
	CTL_REASSIGN_ACK = 8, /* PoP -> Socket: a REASSIGN chunk applied */
	CTL_TYPE_MAX = 8
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
/* The whole frame's length (header + body) that a CTL_HDR_LEN-byte
 * header announces: how many bytes a reader waits for before
 * ctlmsg_frame() can find the frame.  Check the header first. */
size_t ctlmsg_frame_need(const uint8_t hdr[CTL_HDR_LEN]);

struct ctl_link {
	char     name[PROTO_NAME_MAX];
	uint8_t  id; /* the link_id in data-plane headers */
	uint32_t up_mbps;
	uint32_t down_mbps;
};

struct ctl_hello {
	uint32_t         version;
	uint32_t         workers; /* the Socket's: 1..PROTO_MAX_WORKERS */
	char             site[PROTO_SITE_MAX];
	struct ctl_link  links[PROTO_MAX_LINKS];
	size_t           nlinks;
	struct wp_prefix lan[CTL_MAX_LAN];
	size_t           nlan;
};

struct ctl_welcome {
	uint32_t version;
	uint32_t workers;   /* the PoP's: 1..PROTO_MAX_WORKERS */
	uint32_t session;   /* data-plane session id, never 0 */
	uint16_t data_port; /* the PoP's UDP port for the data plane */
	uint32_t probe_interval_ms;
	uint32_t probe_down_after;
	uint32_t probe_up_after;
};

/*
 * LINK_STATE also carries the Socket's service-level verdicts (brownout,
 * wanpair.json(5) "Service levels"): "degraded" names the profiles the
 * link is over the limits of, so that the PoP keeps its new return flows
 * of those profiles off it as the Socket does:
 *
 *   {"link":0,"up":true,"rtt_us":21000,"loss_ppm":97000,
 *    "jitter_us":1200,"degraded":["voice"]}
 *
 * "jitter_us" and "degraded" may be absent (0, none): a peer that
 * predates them still speaks PROTOCOL_VERSION 2.  Names are profile names
 * (the two ends number their profiles each their own way), unique, at
 * most CTL_MAX_DEGRADED.
 */
#define CTL_MAX_DEGRADED 64

struct ctl_link_state {
	uint8_t  link;      /* link id */
	uint8_t  up;        /* 1 up, 0 down */
	uint32_t rtt_us;    /* smoothed round-trip time */
	uint32_t loss_ppm;  /* smoothed loss, parts per million */
	uint32_t jitter_us; /* smoothed jitter (RFC 3550) */
	size_t   ndegraded;
	char     degraded[CTL_MAX_DEGRADED][PROTO_NAME_MAX]; /* profiles */
};

/* One flow moved off the dead link. */
struct ctl_move {
	struct flow_key key;  /* normalised as by flow_key_from_pkt() */
	uint8_t         link; /* the link the flow uses from now on */
};

/*
 * One chunk of a failover.  For encoding, moves points at the caller's
 * memory.  The decoder allocates moves (exactly nmoves of them, NULL if
 * none); the caller releases them with ctlmsg_reassign_free().
 */
struct ctl_reassign {
	uint8_t          dead_link; /* "link" that failed, or CTL_LINK_NONE */
	uint32_t         seq;       /* chunk number, from 0 */
	uint8_t          last;      /* 1 on the final chunk, else 0 */
	uint32_t         total;     /* moves in all chunks together */
	size_t           nmoves;    /* in this chunk, <= CTL_MAX_MOVES */
	struct ctl_move *moves;
};

struct ctl_reassign_ack {
	uint8_t  link; /* dead_link of the chunk acknowledged */
	uint32_t seq;  /* its seq */
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
/*
 * Fills *r completely; the previous r->moves, if any, is not freed.  On
 * failure *r is zeroed and nothing is left allocated.  Nothing is
 * allocated before the body is known to be at most CTL_MAX_BODY bytes of
 * JSON with at most CTL_MAX_MOVES moves.
 */
int ctlmsg_decode_reassign(const uint8_t *body, size_t len,
    struct ctl_reassign *r, char *err, size_t errlen);
/* Frees r->moves and zeroes *r; r may be NULL. */
void ctlmsg_reassign_free(struct ctl_reassign *r);
int  ctlmsg_decode_reassign_ack(const uint8_t *body, size_t len,
     struct ctl_reassign_ack *, char *err, size_t errlen);
/* KEEPALIVE: the body must be an empty object. */
int ctlmsg_decode_keepalive(
    const uint8_t *body, size_t len, char *err, size_t errlen);

/* The body of any message (KEEPALIVE has none). */
union ctl_body {
	struct ctl_hello        hello;
	struct ctl_welcome      welcome;
	struct ctl_link_state   link_state;
	struct ctl_rekey        rekey;
	struct ctl_bye          bye;
	struct ctl_reassign     reassign;
	struct ctl_reassign_ack reassign_ack;
};

/* Any message: `type` (enum ctl_type) says which member of u holds it. */
struct ctl_msg {
	uint8_t        type;
	union ctl_body u;
};

/*
 * The one entry point for a frame's body: decodes it as f->type says into
 * *m (zeroed first, m->type set), CTL_OK, or CTL_ERR_TYPE for a type
 * outside enum ctl_type, or CTL_ERR_BODY with a sentence in err.  On
 * success the caller releases m with ctlmsg_msg_free(); on failure
 * nothing is left allocated.  KEEPALIVE has no member: its body must be
 * an empty object.
 */
int ctlmsg_decode(
    const struct ctl_frame *f, struct ctl_msg *m, char *err, size_t errlen);
/* Frees what ctlmsg_decode() allocated in m (a REASSIGN's moves). */
void ctlmsg_msg_free(struct ctl_msg *m);
/* Encodes m as its type says, as the ctlmsg_encode_*() below do. */
int ctlmsg_encode(const struct ctl_msg *m, uint8_t **out, size_t *outlen);

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
/*
 * Encodes r as it is.  Refused (-1) as well: a move whose key is not
 * normalised, has an unknown family or bytes after an IPv4 address, or
 * non-zero key padding, since it would not decode to the same move.
 */
int ctlmsg_encode_reassign(
    const struct ctl_reassign *r, uint8_t **out, size_t *outlen);
int ctlmsg_encode_reassign_ack(
    const struct ctl_reassign_ack *, uint8_t **out, size_t *outlen);

/*
 * Chunking a failover of nflows moves: how many REASSIGN frames it takes
 * (at least 1, so a failover without flows still sends its last chunk),
 * and the frame of chunk `seq`, carrying moves[seq * CTL_MAX_MOVES, ...)
 * of moves[0..nflows) with total = nflows and last on the final chunk.
 * The encoder fails if seq is past the last chunk or nflows exceeds
 * UINT32_MAX.
 */
size_t ctlmsg_reassign_chunks(size_t nflows);
int    ctlmsg_encode_reassign_chunk(uint8_t dead_link,
       const struct ctl_move *moves, size_t nflows, uint32_t seq, uint8_t **out,
       size_t *outlen);

/* "link_state", for logs and metrics; "unknown" outside enum ctl_type. */
const char *ctlmsg_type_name(int type);
/* "LINK_STATE", for messages; "UNKNOWN" outside enum ctl_type. */
const char *ctlmsg_type_tag(int type);

#endif
