/*
 * wanpair-popd's logic without its sockets: the daemon is a library
 * (popd/libpopd.a), so these tests build a struct popd from a
 * configuration, as popd_ops.init does, and drive what the TUN device and
 * the control channel would: which site return traffic goes to, what a
 * site's link going down or up does to its flows, and what a new HELLO of
 * the same site (a reconnect) takes over from the session before.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "check_flows.h"
#include "check_pki.h"
#include "check_run.h"
#include "clusterkey.h"
#include "clusterlink.h"
#include "clustersync.h"
#include "config.h"
#include "daemon.h"
#include "flow.h"
#include "forward.h"
#include "link.h"
#include "linkdown.h"
#include "log.h"
#include "popd.h"

/* popd.json with the listen address, the TLS directory, the sites and
 * more keys (", \"probe\": ..." or ""). */
#define POPD_JSON                                                              \
	"{\"listen\": {\"address\": \"%s\"},"                                  \
	" \"tls\": {\"ca\": \"%s/ca.pem\", \"cert\": \"%s/pop.pem\","          \
	"  \"key\": \"%s/pop.key\"},"                                          \
	" \"sites\": [%s], \"flows\": {\"max\": 4096}%s}"

static const char three_sites[] =
    "{\"name\": \"branch-1\", \"identity\": \"b1.example.net\","
    " \"lan\": [\"10.1.0.0/16\"]},"
    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
    " \"lan\": [\"10.17.0.0/16\", \"2001:db8:17::/48\"]},"
    "{\"name\": \"hq\", \"identity\": \"hq.example.net\","
    " \"lan\": [\"10.18.1.0/24\", \"192.168.0.0/16\"]}";

static struct event_base *base;
static struct daemon     *d;
static struct popd       *pd; /* d's */

/* popd as daemon_main() makes it from conf (popd_ops.init), not started:
 * no TUN device, no socket.  Only the session index is dataplane_start()'s
 * to size. */
static void
popd_from(struct config *conf)
{
	log_init("check_popd", 1, 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(d = daemon_new(&popd_ops, conf, base));
	pd = daemon_state(d);
	pd->sess_mask = 7;
	pd->sess_index = calloc(pd->sess_mask + 1, sizeof(*pd->sess_index));
	ck_assert_ptr_nonnull(pd->sess_index);
}

static void
setup(void)
{
	struct config_errors errs = {0};
	struct config       *conf;
	char                 text[2048];
	int                  n;

	n = snprintf(text, sizeof(text), POPD_JSON, "198.18.0.1", ".", ".", ".",
	    three_sites, "");
	ck_assert_int_lt(n, (int)sizeof(text));
	conf = config_parse(text, (size_t)n, "popd.json", CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	popd_from(conf);
}

static void
teardown(void)
{
	daemon_free(d); /* popd_ops.stop: sessions, index, sites */
	event_base_free(base);
}

static const char *
site_of(const char *addr)
{
	uint8_t      a[16] = {0};
	int          family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	struct site *s;

	ck_assert_int_eq(inet_pton(family, addr, a), 1);
	s = site_for(pd, family, a);
	return s != NULL ? s->conf->name : "(none)";
}

/* Return traffic goes to the site whose LAN holds its destination
 * (popd.json refuses LANs that overlap), up to the prefixes' edges. */
START_TEST(site_by_lan_prefix)
{
	ck_assert_str_eq(site_of("10.1.2.3"), "branch-1");
	ck_assert_str_eq(site_of("10.17.0.0"), "branch-17");
	ck_assert_str_eq(site_of("10.17.255.255"), "branch-17");
	ck_assert_str_eq(site_of("10.18.1.9"), "hq");
	ck_assert_str_eq(site_of("10.18.2.9"), "(none)");
	ck_assert_str_eq(site_of("10.16.255.255"), "(none)");
	ck_assert_str_eq(site_of("192.168.7.7"), "hq");
	ck_assert_str_eq(site_of("2001:db8:17:1::5"), "branch-17");
	ck_assert_str_eq(site_of("2001:db8:18::5"), "(none)");
	ck_assert_str_eq(site_of("203.0.113.10"), "(none)");
	/* an IPv4 prefix never holds an IPv6 address with the same bytes */
	ck_assert_str_eq(site_of("a11:1::"), "(none)");
}
END_TEST

static long
site_named(const char *identity)
{
	return site_ids_find(pd->site_ids, identity);
}

/* A verified certificate finds its site by identity in the index, case
 * aside (as tls_peer_matches() compared), and nothing else does. */
START_TEST(site_by_identity)
{
	char long_name[400];

	ck_assert_int_eq(site_named("b1.example.net"), 0);
	ck_assert_int_eq(site_named("B17.Example.NET"), 1);
	ck_assert_int_eq(site_named("hq.example.net"), 2);
	ck_assert_int_eq(site_named("hq.example.net."), -1);
	ck_assert_int_eq(site_named("hq"), -1);
	ck_assert_int_eq(site_named("branch-1"), -1); /* a name, no identity */
	ck_assert_int_eq(site_named(""), -1);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(site_named(long_name), -1);
}
END_TEST

/* popd over n sites ("s0" .. , identity "sN.Bench", LAN 10.N/256.N%256
 * .0/24), in place of the fixture's three. */
static void
popd_many(long n)
{
	struct config_errors errs = {0};
	struct config       *conf;
	char                *text;
	size_t               cap = (size_t)n * 96 + 1024, off;
	long                 i;

	teardown();
	ck_assert_ptr_nonnull(text = malloc(cap));
	off = (size_t)snprintf(text, cap,
	    "{\"listen\": {\"address\": \"198.18.0.1\"}, \"tls\": {\"ca\":"
	    " \"ca.pem\", \"cert\": \"pop.pem\", \"key\": \"pop.key\"},"
	    " \"sites\": [");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "%s{\"name\": \"s%ld\", \"identity\": \"s%ld.Bench\","
		    " \"lan\": [\"10.%ld.%ld.0/24\"]}",
		    i ? "," : "", i, i, i / 256, i % 256);
	off += (size_t)snprintf(
	    text + off, cap - off, "], \"flows\": {\"max\": 4096}}");
	ck_assert_uint_lt(off, cap);
	conf = config_parse(text, off, "popd.json", CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	free(text);
	popd_from(conf);
}

/* 2,000 sites: every identity finds its own site, whatever the case of
 * its letters; a near miss finds none. */
START_TEST(site_by_identity_many)
{
	char name[64];
	long i;

	popd_many(2000);
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "S%ld.bench", i);
		ck_assert_int_eq(site_named(name), i);
		snprintf(name, sizeof(name), "s%ld.bench.", i);
		ck_assert_int_eq(site_named(name), -1);
	}
	ck_assert_int_eq(site_named("s2000.bench"), -1);
}
END_TEST

/* A HELLO of branch-17 with WAN1 (100 down) and WAN2 (20 down), or with
 * the links the other way round and other wire ids. */
static void
hello(struct ctl_hello *h, int swapped)
{
	static const struct ctl_link wan1 = {"WAN1", 0, 100, 100};
	static const struct ctl_link wan2 = {"WAN2", 1, 20, 20};

	memset(h, 0, sizeof(*h));
	h->version = PROTOCOL_VERSION;
	h->workers = 1;
	snprintf(h->site, sizeof(h->site), "branch-17");
	h->nlinks = 2;
	h->links[0] = swapped ? wan2 : wan1;
	h->links[1] = swapped ? wan1 : wan2;
	h->lan[0] = pd->conf->sites[1].lan[0];
	h->nlan = 1;
}

/* No TLS session behind these: epoch 0's keys are made up, a later
 * epoch's cannot be had. */
static int
epoch0_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	if (epoch != 0)
		return -1;
	memset(key, (up ? 1 : 2) + 4 * worker, AEAD_KEY_LEN);
	return 0;
}

static struct session *
session_of(size_t site, const struct ctl_hello *h, uint32_t id)
{
	struct session *s;

	s = session_new(pd, &pd->sites[site], NULL, h, id, epoch0_derive);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* A session of branch-17. */
static struct session *
session(const struct ctl_hello *h, uint32_t id)
{
	return session_of(1, h, id);
}

/*
 * A cluster's members seal a site's return packets under worker bytes of
 * their own (doc/CLUSTER.md, "Sessions across members"): the member with
 * slot k (here its position: a session with no cluster state) has its
 * tunnel of worker w write k * W + w in the header and seal under that
 * byte's key, so that two members' slots never meet and a (link,
 * counter) is never sealed twice under one key, however many members
 * seal for the session.  The WELCOME says every slot's bytes, and the
 * Socket's tunnel for that count opens every member's packets, each only
 * under its own byte's key.
 */
START_TEST(cluster_worker_bytes)
{
	static const uint8_t inner[40] = {0x45};
	struct ctl_hello     h;
	struct session      *s;
	struct tunnel       *sock;
	struct tunnel_evq    q;
	struct wire_hdr      hdr;
	uint8_t              pkt[3][256], out[256];
	uint64_t             used = 0, bit;
	unsigned             W = pd->nworkers, k, w, members = 3;
	int                  n[3], r;

	ck_assert_uint_le(members * W, PROTO_MAX_WORKERS);
	tunnel_evq_init(&q);
	hello(&h, 0);
	/* No cluster: bytes 0 .. W - 1, as always. */
	ck_assert_uint_eq(popd_wire_workers(pd), W);
	s = session(&h, 0x2000);
	for (w = 0; w < W; w++) {
		r = tunnel_seal(s->tun[w], &q, WIRE_DATA, 0, inner,
		    sizeof(inner), out, 256);
		ck_assert_int_gt(r, 0);
		ck_assert_int_eq(wire_hdr_decode(out, (size_t)r, &hdr), 0);
		ck_assert_uint_eq(hdr.worker, w);
	}
	session_free(s);

	pd->cl_members = members;
	/* A cluster: every slot of W bytes (64 / W slots). */
	ck_assert_uint_eq(popd_wire_workers(pd), PROTO_MAX_WORKERS / W * W);
	h.workers = 1;
	/* The Socket, told every slot's bytes by the WELCOME. */
	ck_assert_ptr_nonnull(
	    sock = tunnel_new(0x2001, 1, 0, popd_wire_workers(pd),
		epoch0_derive, NULL, 1000, 2000));
	for (k = 0; k < members; k++) {
		pd->cl_pos = k;
		s = session(&h, 0x2001);
		for (w = 0; w < W; w++) {
			r = tunnel_seal(s->tun[w], &q, WIRE_DATA, 0, inner,
			    sizeof(inner), pkt[k], sizeof(pkt[k]));
			ck_assert_int_gt(r, 0);
			ck_assert_int_eq(
			    wire_hdr_decode(pkt[k], (size_t)r, &hdr), 0);
			/* Member k's range, and no other member's. */
			ck_assert_uint_eq(hdr.worker, k * W + w);
			ck_assert_uint_eq(hdr.counter, 0);
			bit = UINT64_C(1) << hdr.worker;
			ck_assert_uint_eq(used & bit, 0);
			used |= bit;
			if (w == 0)
				n[k] = r;
		}
		session_free(s);
	}
	ck_assert_uint_eq(used,
	    members * W == 64 ? UINT64_MAX
			      : (UINT64_C(1) << (members * W)) - 1);
	/* Each opens at the Socket, under its member's byte's key only:
	 * the same (link 0, counter 0) under three keys. */
	for (k = 0; k < members; k++) {
		ck_assert_int_eq(
		    wire_hdr_decode(pkt[k], (size_t)n[k], &hdr), 0);
		ck_assert_int_eq(tunnel_open(sock, &q, &hdr, pkt[k],
				     (size_t)n[k], out, sizeof(out)),
		    (int)sizeof(inner));
	}
	ck_assert_int_eq(wire_hdr_decode(pkt[1], (size_t)n[1], &hdr), 0);
	pkt[1][2] = (uint8_t)(2 * W); /* claims member 2's byte */
	hdr.worker = (uint8_t)(2 * W);
	ck_assert_int_lt(
	    tunnel_open(sock, &q, &hdr, pkt[1], (size_t)n[1], out, sizeof(out)),
	    0);
	tunnel_free(sock);
	pd->cl_members = 0;
	pd->cl_pos = 0;
}
END_TEST

/* ------------------------------------------------------------ cluster */

/*
 * Sessions across members (popd/cluster-session.c) without corosync:
 * this popd is node 1 (position 0) of three, 2 workers each; the
 * membership is the test's (every member joined, node k + 1 of
 * incarnation 0x100 + k), and SESSIONs from the others are made here.
 */
static struct clusterkey ckey;
static char              keypath[64];
static uint8_t           sent_msg[CLUSTERSYNC_SESSION_MAX];
static size_t            sent_len, nsent;
static uint8_t           msg_flags; /* session_msg()'s */
static uint8_t           msg_slot0; /* session_msg()'s slot of position 0 */
static uint32_t          inc2;      /* position 2's incarnation: restarts */
static uint8_t           msg_down;  /* session_msg()'s: bit i, link i down */

static int
fake_member(void *arg, size_t pos, uint32_t *node, uint32_t *inc)
{
	(void)arg;
	*node = (uint32_t)pos + 1;
	*inc = pos == 2 ? inc2 : 0x100 + (uint32_t)pos;
	return pos < 3;
}

static uint32_t
fake_incarnation(void *arg)
{
	(void)arg;
	return 0x100;
}

static int
fake_mcast(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	ck_assert_uint_le(len, sizeof(sent_msg));
	memcpy(sent_msg, msg, len);
	sent_len = len;
	nsent++;
	return 0;
}

static void
fake_flush(void *arg)
{
	(void)arg;
	ck_assert_int_eq(csync_flush(pd->csync), 0);
}

static int table_derive(void *, uint32_t, int, uint8_t, uint8_t[AEAD_KEY_LEN]);

/* The members' cluster-link addresses, net + "1" to "3", and the port
 * (0: popd.json's default) of the next setup_cluster(). */
static const char *cl_net = "198.18.50.";
static unsigned    cl_port;

static void
setup_cluster(void)
{
	static const struct csync_membership ms = {fake_member,
	    fake_incarnation, fake_mcast, fake_flush, table_derive, NULL};
	static const char                    hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	struct config_errors errs = {0};
	struct config       *conf;
	char                 text[4096], more[1024], port[32], err[256];
	int                  n, fd;

	snprintf(port, sizeof(port), ", \"port\": %u", cl_port);
	snprintf(keypath, sizeof(keypath), "/tmp/check_popd_key.XXXXXX");
	ck_assert_int_ge(fd = mkstemp(keypath), 0);
	ck_assert_int_eq(write(fd, hex, 64), 64);
	close(fd);
	ck_assert_int_eq(clusterkey_parse(hex, 64, &ckey, NULL), 0);
	snprintf(more, sizeof(more),
	    ", \"workers\": 2, \"cluster\": {\"node\": 1, \"key_file\": "
	    "\"%s\"%s, \"members\": [{\"node\": 1, \"address\": \"%s1\"},"
	    " {\"node\": 2, \"address\": \"%s2\"},"
	    " {\"node\": 3, \"address\": \"%s3\"}]}",
	    keypath, cl_port != 0 ? port : "", cl_net, cl_net, cl_net);
	n = snprintf(text, sizeof(text), POPD_JSON, "198.18.0.1", ".", ".", ".",
	    three_sites, more);
	ck_assert_int_lt(n, (int)sizeof(text));
	conf = config_parse(text, (size_t)n, "popd.json", CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	popd_from(conf);
	ck_assert_uint_eq(pd->nworkers, 2);
	ck_assert_msg(
	    csync_start_with(pd, &ms, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(pd->cl_pos, 0);
	ck_assert_uint_eq(pd->cl_members, 3);
	/* 32 slots of 2 bytes: all 64 */
	ck_assert_uint_eq(popd_wire_workers(pd), 64);
	msg_slot0 = 0;
	inc2 = 0x102;
	/* No TUN device here: a backup's routes are taken as there. */
	for (n = 0; n < (int)pd->nsites; n++)
		pd->sites[n].routes_installed = 1;
	nsent = 0;
}

static void
teardown_cluster(void)
{
	teardown();
	unlink(keypath);
	clusterkey_wipe(&ckey);
}

/* The Socket's keys of these tests (and the holder's TLS session's),
 * epoch e of worker byte b: up 0x10 + 16 e + b, down 0x40 + 16 e + b
 * (e 0 to 2). */
static int
table_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	if (epoch > 2)
		return -1;
	memset(
	    key, (up ? 0x10 : 0x40) + 16 * (int)epoch + worker, AEAD_KEY_LEN);
	return 0;
}

/* Node pos + 1's SESSION of site `site` (branch-17's links), id, grant
 * of position 0 (at slot msg_slot0) and of position 1 (0x101, slot 1),
 * sealed; its length. */
static size_t
session_msg(
    uint8_t *out, size_t pos, unsigned site, uint32_t id, uint32_t grant0)
{
	static struct clustersync_session m;
	static uint8_t                    body[CLUSTERSYNC_SESSION_BODY_MAX];
	struct aead                      *a;
	uint8_t                           k[32], nonce[12] = {7};
	unsigned                          i, j;
	int                               n;

	memset(&m, 0, sizeof(m));
	m.site = (uint16_t)site;
	snprintf(
	    m.site_name, sizeof(m.site_name), "%s", pd->conf->sites[site].name);
	m.id = id;
	m.socket_workers = 1;
	m.slot_bytes = 2;
	m.nmembers = 3;
	m.nlinks = 2;
	m.flags = msg_flags;
	m.grant[0] = grant0;
	m.slot[0] = grant0 != 0 ? msg_slot0 : CLUSTERSYNC_NO_SLOT;
	m.grant[1] = 0x101;
	m.slot[1] = 1;
	m.slot[2] = CLUSTERSYNC_NO_SLOT;
	m.links[0].id = 0;
	snprintf(m.links[0].name, sizeof(m.links[0].name), "WAN1");
	m.links[0].down_mbps = 100;
	m.links[0].endpoint.family = AF_INET;
	memcpy(m.links[0].endpoint.a, (uint8_t[]){203, 0, 113, 7}, 4);
	m.links[0].port = 40000;
	m.links[1].id = 1;
	snprintf(m.links[1].name, sizeof(m.links[1].name), "WAN2");
	m.links[1].down_mbps = 20;
	m.links[0].down = msg_down & 1;
	m.links[1].down = (msg_down >> 1) & 1;
	/* The Socket's byte, then the granted slots' bytes in the order
	 * of their positions. */
	for (i = 0, j = 1; i < 2; i++) {
		unsigned slot = i == 0 ? msg_slot0 : 1, b;

		if (m.grant[i] == 0)
			continue;
		for (b = 2 * slot; b < 2 * slot + 2; b++, j++) {
			ck_assert_int_eq(table_derive(NULL, 0, 0, (uint8_t)b,
					     m.keys[j].key[0]),
			    0);
			ck_assert_int_eq(table_derive(NULL, 1, 0, (uint8_t)b,
					     m.keys[j].key[1]),
			    0);
		}
	}
	ck_assert_int_eq(table_derive(NULL, 0, 1, 0, m.keys[0].key[0]), 0);
	ck_assert_int_eq(table_derive(NULL, 1, 1, 0, m.keys[0].key[1]), 0);
	ck_assert_int_gt(
	    n = clustersync_session_encode(&m, body, sizeof(body)), 0);
	ck_assert_int_eq(
	    clustersync_session_header((uint32_t)pos + 1, out, 8), 8);
	memcpy(out + 8, nonce, 12);
	ck_assert_int_eq(clusterkey_session_key(&ckey, k), 0);
	ck_assert_ptr_nonnull(a = aead_new(k));
	ck_assert_int_eq(
	    aead_seal(a, nonce, out, 8, body, (size_t)n, out + 20), n + 16);
	aead_free(a);
	return (size_t)n + 36;
}

/* The last message sent, of `type`, opened into body: its length. */
static int
open_sent(int type, uint8_t *body)
{
	const uint8_t *nonce, *sealed;
	struct aead   *a;
	uint8_t        k[32];
	size_t         sl;
	int            n;

	ck_assert_int_eq(
	    clustersync_envelope(sent_msg, sent_len, &nonce, &sealed, &sl),
	    type);
	ck_assert_int_eq(clusterkey_session_key(&ckey, k), 0);
	ck_assert_ptr_nonnull(a = aead_new(k));
	n = aead_open(a, nonce, sent_msg, 8, sealed, sl, body);
	ck_assert_int_gt(n, 0);
	aead_free(a);
	return n;
}

static json_int_t
counter(const char *name)
{
	json_t    *j = csync_json(pd->csync);
	json_int_t v;

	ck_assert_ptr_nonnull(j);
	v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

/* The backup opens what the Socket seals; it seals under its own worker
 * bytes' keys only once its position is granted to its incarnation. */
START_TEST(cluster_backup_session)
{
	static const uint8_t    inner[40] = {0x45};
	static uint8_t          msg[CLUSTERSYNC_SESSION_MAX];
	struct site            *site = &pd->sites[1];
	struct tunnel          *sock;
	struct tunnel_evq       q;
	struct wire_hdr         hdr;
	struct session         *s;
	uint8_t                 pkt[256], out[256];
	uint32_t                id = UINT32_C(1) << 27 | 5;
	size_t                  len;
	struct clustersync_want want;
	uint8_t                 wbody[CLUSTERSYNC_WANT_BODY_MAX];
	int                     r, i, n;

	tunnel_evq_init(&q);
	/* Not granted to this incarnation (0x100): opens, seals nothing
	 * the Socket takes. */
	len = session_msg(msg, 1, 1, id, 0x99);
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_ptr_nonnull(s = site->session);
	ck_assert_uint_eq(s->id, id);
	ck_assert_ptr_eq(session_by_id(pd, id), s);
	ck_assert_ptr_null(s->conn);
	ck_assert_int_eq(csync_vouched(s), 1);
	ck_assert_uint_ne(s->endpoint_len[0], 0); /* the holder's */
	ck_assert_uint_eq(s->endpoint_len[1], 0);
	ck_assert_int_eq(counter("held"), 1);
	ck_assert_int_eq(counter("sealing"), 0);
	ck_assert_int_eq(csync_can_seal(pd, s), 0);
	ck_assert_ptr_nonnull(
	    sock = tunnel_new(id, 1, 0, 64, table_derive, NULL, 1000, 2000));
	r = tunnel_seal(
	    sock, &q, WIRE_DATA, 0, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_int_gt(r, 0);
	ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, &hdr), 0);
	ck_assert_int_eq(tunnel_open(s->tun[wire_steer(0, id, 2)], &q, &hdr,
			     pkt, (size_t)r, out, sizeof(out)),
	    (int)sizeof(inner));
	r = tunnel_seal(s->tun[1], &q, WIRE_DATA, 0, inner, sizeof(inner), pkt,
	    sizeof(pkt));
	ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, &hdr), 0);
	ck_assert_uint_eq(hdr.worker, 1);
	ck_assert_int_lt(
	    tunnel_open(sock, &q, &hdr, pkt, (size_t)r, out, sizeof(out)), 0);

	/* Granted: new tunnels with the real keys. */
	len = session_msg(msg, 1, 1, id, 0x100);
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_ptr_nonnull(s = site->session);
	ck_assert_uint_eq(s->id, id);
	ck_assert_int_eq(counter("sealing"), 1);
	ck_assert_int_eq(csync_can_seal(pd, s), 1);
	r = tunnel_seal(s->tun[1], &q, WIRE_DATA, 0, inner, sizeof(inner), pkt,
	    sizeof(pkt));
	ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, &hdr), 0);
	ck_assert_uint_eq(hdr.worker, 1);
	ck_assert_int_eq(
	    tunnel_open(sock, &q, &hdr, pkt, (size_t)r, out, sizeof(out)),
	    (int)sizeof(inner));
	/* The same again: keys refreshed, the tunnels stay. */
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_ptr_eq(site->session, s);
	tunnel_free(sock);

	/* The Socket's worker moves to epoch 1 (one packet an epoch
	 * here): the backup opens it with the holder's next key, then
	 * wants epoch 2's, which it asks the holder for (WANT). */
	ck_assert_ptr_nonnull(
	    sock = tunnel_new(id, 1, 0, 64, table_derive, NULL, 1, 2000));
	for (i = 0; i < 2; i++) {
		r = tunnel_seal(sock, &q, WIRE_DATA, 0, inner, sizeof(inner),
		    pkt, sizeof(pkt));
		ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, &hdr), 0);
		ck_assert_int_eq(tunnel_open(s->tun[wire_steer(0, id, 2)], &q,
				     &hdr, pkt, (size_t)r, out, sizeof(out)),
		    (int)sizeof(inner));
	}
	ck_assert_uint_eq(tunnel_rx_epoch(s->tun[wire_steer(0, id, 2)], 0), 1);
	ck_assert_int_eq(tunnel_refill(s->tun[wire_steer(0, id, 2)]), -1);
	nsent = 0;
	csync_announce(pd, s);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(counter("wants_sent"), 1);
	n = open_sent(CLUSTERSYNC_WANT, wbody);
	ck_assert_int_eq(
	    clustersync_want_decode(wbody, (size_t)n, &want), CLUSTERSYNC_OK);
	ck_assert_uint_eq(want.site, 1);
	ck_assert_uint_eq(want.id, id);
	ck_assert_uint_eq(want.n, 1);
	ck_assert_uint_eq(want.e[0].up, 1);
	ck_assert_uint_eq(want.e[0].byte, 0);
	ck_assert_uint_eq(want.e[0].epoch, 1);
	/* Asked once: nothing more until a tunnel wants again. */
	csync_announce(pd, s);
	ck_assert_uint_eq(nsent, 1);
	/* A WANT of a session this node does not hold: nothing. */
	csync_deliver(pd->csync, 1, 2, sent_msg, sent_len);
	ck_assert_int_eq(counter("wants_received"), 0);
	tunnel_free(sock);

	/* The site's next session replaces it; the old id never comes
	 * back, whoever says it. */
	len = session_msg(msg, 1, 1, id + 1, 0x100);
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_uint_eq(site->session->id, id + 1);
	ck_assert_ptr_null(session_by_id(pd, id));
	len = session_msg(msg, 1, 1, id, 0x100);
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_uint_eq(site->session->id, id + 1);
	ck_assert_int_eq(counter("stale"), 1);
	ck_assert_int_eq(counter("replaced"), 1);

	/* Refused: an id whose top bits are not its sender's position, a
	 * site this node has under another name, a message that does not
	 * open. */
	len = session_msg(msg, 2, 1, id + 2, 0x100);
	csync_deliver(pd->csync, 2, 3, msg, len);
	ck_assert_int_eq(counter("mismatch"), 1);
	len = session_msg(msg, 1, 1, id + 3, 0x100);
	memcpy(msg + 20 + 3, "zz", 2); /* the site's name, sealed */
	csync_deliver(pd->csync, 1, 2, msg, len);
	ck_assert_int_eq(counter("bad"), 1);
	msg[len - 1] ^= 1;
	csync_deliver(pd->csync, 1, 2, msg, len - 1);
	ck_assert_int_eq(counter("bad"), 2);
	ck_assert_uint_eq(site->session->id, id + 1);

	/* Its holder lost the site's channel: its grace starts here too. */
	msg_flags = CLUSTERSYNC_DETACHED;
	csync_deliver(
	    pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id + 1, 0x100));
	ck_assert_int_eq(csync_vouched(site->session), 0);
	msg_flags = 0;
	csync_deliver(
	    pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id + 1, 0x100));
	ck_assert_int_eq(csync_vouched(site->session), 1);
	/* Another session of the site whose holder has no channel is not
	 * newer than this one, whose holder has. */
	msg_flags = CLUSTERSYNC_DETACHED;
	csync_deliver(
	    pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id + 7, 0x100));
	msg_flags = 0;
	ck_assert_uint_eq(site->session->id, id + 1);
	ck_assert_int_eq(counter("stale"), 2);
	/* Its holder leaves: no longer vouched for (session_grace_s). */
	csync_member_left(pd->csync, 1);
	ck_assert_int_eq(csync_vouched(site->session), 0);
	csync_deliver(
	    pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id + 1, 0x100));
	ck_assert_int_eq(csync_vouched(site->session), 1);
}
END_TEST

/* This process restarted: the holder granted its position a slot its
 * earlier process never had (3): it seals with that slot's bytes, which
 * the Socket opens, and never with slot 0's. */
START_TEST(cluster_restarted_member)
{
	static const uint8_t inner[40] = {0x45};
	static uint8_t       msg[CLUSTERSYNC_SESSION_MAX];
	struct site         *site = &pd->sites[1];
	struct tunnel       *sock;
	struct tunnel_evq    q;
	struct wire_hdr      hdr;
	struct session      *s;
	uint8_t              pkt[256], out[256];
	uint32_t             id = UINT32_C(1) << 27 | 5;
	unsigned             w;
	int                  r;

	tunnel_evq_init(&q);
	msg_slot0 = 3;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_ptr_nonnull(s = site->session);
	ck_assert_int_eq(csync_can_seal(pd, s), 1);
	ck_assert_ptr_nonnull(
	    sock = tunnel_new(id, 1, 0, 64, table_derive, NULL, 1000, 2000));
	for (w = 0; w < pd->nworkers; w++) {
		r = tunnel_seal(s->tun[w], &q, WIRE_DATA, 0, inner,
		    sizeof(inner), pkt, sizeof(pkt));
		ck_assert_int_gt(r, 0);
		ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, &hdr), 0);
		ck_assert_uint_eq(hdr.worker, 3 * 2 + w);
		ck_assert_uint_eq(hdr.counter, 0);
		ck_assert_int_eq(tunnel_open(sock, &q, &hdr, pkt, (size_t)r,
				     out, sizeof(out)),
		    (int)sizeof(inner));
	}
	tunnel_free(sock);
	/* A slot past what the message's keys cover is refused by the
	 * decoder; a slot of another process's: not this one's grant. */
	csync_deliver(
	    pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id + 1, 0x99));
	ck_assert_int_eq(csync_can_seal(pd, site->session), 0);
}
END_TEST

/* One packet sealed by worker 0's tunnel of s: its header in *hdr. */
static void
seal_w0(struct session *s, struct wire_hdr *hdr)
{
	static const uint8_t inner[40] = {0x45};
	struct tunnel_evq    q;
	uint8_t              pkt[256];
	int                  r;

	tunnel_evq_init(&q);
	r = tunnel_seal(s->tun[0], &q, WIRE_DATA, 0, inner, sizeof(inner), pkt,
	    sizeof(pkt));
	ck_assert_int_gt(r, 0);
	ck_assert_int_eq(wire_hdr_decode(pkt, (size_t)r, hdr), 0);
}

/*
 * A grant is never withdrawn for a live incarnation: a SESSION without
 * this process's grant (or with it at another slot) after one with it is
 * an older message replayed into the group.  It is refused as stale: the
 * backup goes on sealing, and the grant's next message does not make its
 * tunnels again, which would start their counters at 0 under keys they
 * sealed with already.
 */
START_TEST(cluster_grant_not_withdrawn)
{
	static uint8_t  msg[CLUSTERSYNC_SESSION_MAX];
	struct site    *site = &pd->sites[1];
	struct wire_hdr hdr;
	struct session *s;
	uint32_t        id = UINT32_C(1) << 27 | 5;
	json_int_t      stale;

	msg_slot0 = 3;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_ptr_nonnull(s = site->session);
	ck_assert_int_eq(csync_can_seal(pd, s), 1);
	seal_w0(s, &hdr);
	ck_assert_uint_eq(hdr.worker, 6);
	ck_assert_uint_eq(hdr.counter, 0);

	/* The message from before the grant, and one with the grant at
	 * another slot: stale, nothing changes. */
	stale = counter("stale");
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0));
	msg_slot0 = 4;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_int_eq(counter("stale"), stale + 2);
	ck_assert_ptr_eq(site->session, s);
	ck_assert_int_eq(csync_can_seal(pd, s), 1);

	/* The grant again: the same tunnels, the next counter. */
	msg_slot0 = 3;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_ptr_eq(site->session, s);
	seal_w0(s, &hdr);
	ck_assert_uint_eq(hdr.worker, 6);
	ck_assert_uint_eq(hdr.counter, 1);
}
END_TEST

/* A session this node holds: announced with every member's keys; one
 * another member announced earlier in the group's order is older and
 * ignored; one announced after ours replaces it (the site's channel is
 * there now). */
START_TEST(cluster_own_session)
{
	static struct clustersync_session m;
	static uint8_t                    msg[CLUSTERSYNC_SESSION_MAX];
	static uint8_t                    body[CLUSTERSYNC_SESSION_BODY_MAX];
	struct ctl_hello                  h;
	struct clustersync_want           want;
	struct session                   *s;
	struct site                      *site = &pd->sites[1];
	struct aead                      *a;
	uint8_t                           k[32], dk[32];
	size_t                            len;
	uint32_t                          id, other = UINT32_C(2) << 27 | 9;
	int                               n;

	hello(&h, 0);
	id = csync_session_id(pd);
	ck_assert_uint_eq(id >> 27, 0); /* position 0's */
	ck_assert_ptr_nonnull(s = session_make(pd, site, NULL, &h, id,
				  csync_derive, csync_own_state(pd, 1)));
	ck_assert_int_eq(session_install(pd, s), 0);
	csync_announce(pd, s);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(counter("own"), 1);
	ck_assert_int_eq(counter("sent"), 1);
	/* A member joins: the walk over the sites says it again, once. */
	csync_resync(pd->csync);
	csync_resync(pd->csync);
	ck_assert_int_eq(counter("pending"), 1);
	ck_assert_int_eq(csync_flush(pd->csync), 0);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_int_eq(counter("sent"), 2);
	nsent = 1;
	/* What went out opens, and grants position 0 to this node and the
	 * others to theirs (all joined). */
	n = open_sent(CLUSTERSYNC_SESSION, body);
	ck_assert_int_eq(clusterkey_session_key(&ckey, k), 0);
	ck_assert_int_eq(
	    clustersync_session_decode(body, (size_t)n, &m), CLUSTERSYNC_OK);
	ck_assert_uint_eq(m.id, id);
	ck_assert_uint_eq(m.site, 1);
	ck_assert_uint_eq(m.slot_bytes, 2);
	ck_assert_uint_eq(m.grant[0], 0x100);
	ck_assert_uint_eq(m.grant[1], 0x101);
	ck_assert_uint_eq(m.grant[2], 0x102);
	/* The first incarnations: slots 0 .. N - 1. */
	ck_assert_uint_eq(m.slot[0], 0);
	ck_assert_uint_eq(m.slot[1], 1);
	ck_assert_uint_eq(m.slot[2], 2);
	/* No TLS connection behind it here: detached, said so. */
	ck_assert_uint_eq(m.flags, CLUSTERSYNC_DETACHED);
	/* The keys of the Socket's byte and of every granted slot's bytes
	 * (slots 0, 1, 2: bytes 0 to 5), as the Socket derives them, and no
	 * more (the other slots' are nobody's). */
	ck_assert_uint_eq(clustersync_session_nkeys(&m), 7);
	for (n = 0; n < 7; n++) {
		ck_assert_int_eq(table_derive(NULL, 0, n == 0,
				     (uint8_t)(n == 0 ? 0 : n - 1), dk),
		    0);
		ck_assert_mem_eq(m.keys[n].key[0], dk, 32);
		ck_assert_uint_eq(m.keys[n].epoch, 0);
	}

	/* Member 3 is at epoch 1 of its byte 4 and wants epoch 2's key:
	 * the holder derives it and announces the session again. */
	memset(&want, 0, sizeof(want));
	want.site = 1;
	want.id = id;
	want.n = 1;
	want.e[0].byte = 4;
	want.e[0].epoch = 1;
	ck_assert_int_gt(
	    n = clustersync_want_encode(&want, body, sizeof(body)), 0);
	ck_assert_int_eq(
	    clustersync_sealed_header(CLUSTERSYNC_WANT, 3, msg, 8), 8);
	memset(msg + 8, 9, 12);
	ck_assert_ptr_nonnull(a = aead_new(k));
	ck_assert_int_eq(
	    aead_seal(a, msg + 8, msg, 8, body, (size_t)n, msg + 20), n + 16);
	aead_free(a);
	csync_deliver(pd->csync, 2, 3, msg, (size_t)n + 36);
	ck_assert_int_eq(counter("wants_received"), 1);
	ck_assert_int_eq(counter("wants_answered"), 1);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_int_eq(clustersync_session_decode(body,
			     (size_t)open_sent(CLUSTERSYNC_SESSION, body), &m),
	    CLUSTERSYNC_OK);
	ck_assert_uint_eq(m.keys[1 + 4].epoch, 1);
	ck_assert_int_eq(table_derive(NULL, 2, 0, 4, dk), 0);
	ck_assert_mem_eq(m.keys[1 + 4].key[1], dk, 32);
	ck_assert_uint_eq(m.keys[1 + 3].epoch, 0);
	/* Asked again for what it said already: nothing more. */
	csync_deliver(pd->csync, 2, 3, msg, (size_t)n + 36);
	ck_assert_int_eq(counter("wants_received"), 2);
	ck_assert_uint_eq(nsent, 2);
	/* Announced from the loop (a connection freed under a lock). */
	csync_announce_later(pd, s);
	ck_assert_uint_eq(nsent, 2);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(nsent, 3);
	/* A WANT that does not open: bad. */
	msg[30] ^= 1;
	csync_deliver(pd->csync, 2, 3, msg, (size_t)n + 36);
	ck_assert_int_eq(counter("bad"), 1);

	/* Another member's, before ours came back: older, ignored. */
	len = session_msg(msg, 2, 1, other, 0x100);
	csync_deliver(pd->csync, 2, 3, msg, len);
	ck_assert_ptr_eq(site->session, s);
	ck_assert_int_eq(counter("stepped_down"), 0);
	/* Ours back in the group's order; then another's: it is newer. */
	memcpy(msg, sent_msg, sent_len);
	csync_deliver(pd->csync, 0, 1, msg, sent_len);
	len = session_msg(msg, 2, 1, other + 1, 0x100);
	csync_deliver(pd->csync, 2, 3, msg, len);
	ck_assert_uint_eq(site->session->id, other + 1);
	ck_assert_int_eq(counter("stepped_down"), 1);
	ck_assert_int_eq(counter("own"), 0);
	ck_assert_int_eq(counter("held"), 1);
	/* Nothing of ours waits to be sent any more. */
	ck_assert_int_eq(csync_flush(pd->csync), 0);
	ck_assert_uint_eq(nsent, 3);
	/* A member joins: only sessions this node holds are said again. */
	csync_resync(pd->csync);
	ck_assert_int_eq(csync_flush(pd->csync), 0);
	ck_assert_uint_eq(nsent, 3);
}
END_TEST

/* Member 3 restarts again and again: each process gets a slot never
 * granted before in the session, the first ones 0 .. 2; out of the 32
 * slots, the position is not granted and the session is to be renewed
 * (counted; the site's channel would be closed). */
START_TEST(cluster_slots_run_out)
{
	static struct clustersync_session m;
	static uint8_t                    body[CLUSTERSYNC_SESSION_BODY_MAX];
	struct ctl_hello                  h;
	struct session                   *s;
	struct site                      *site = &pd->sites[1];
	uint64_t                          used = 0;
	unsigned                          k;

	hello(&h, 0);
	ck_assert_ptr_nonnull(
	    s = session_make(pd, site, NULL, &h, csync_session_id(pd),
		csync_derive, csync_own_state(pd, 1)));
	ck_assert_int_eq(session_install(pd, s), 0);
	for (k = 0; k < 32; k++) {
		nsent = 0;
		csync_announce(pd, s);
		ck_assert_uint_eq(nsent, 1);
		ck_assert_int_eq(
		    clustersync_session_decode(
			body, (size_t)open_sent(CLUSTERSYNC_SESSION, body), &m),
		    CLUSTERSYNC_OK);
		ck_assert_uint_eq(m.slot[0], 0);
		ck_assert_uint_eq(m.slot[1], 1);
		if (k < 30) {
			ck_assert_uint_eq(m.grant[2], inc2);
			/* 2 first, then 3, 4, ... */
			ck_assert_uint_eq(m.slot[2], k + 2);
			ck_assert_uint_eq(used & UINT64_C(1) << m.slot[2], 0);
			used |= UINT64_C(1) << m.slot[2];
			ck_assert_int_eq(counter("renewals"), 0);
		} else {
			/* Out of slots: still the last one's grant, whose
			 * process is gone; nothing for the new one. */
			ck_assert_uint_eq(m.grant[2], 0x102 + 29);
			ck_assert_uint_eq(m.slot[2], 31);
			ck_assert_int_eq(counter("renewals"), 1);
		}
		inc2++; /* member 3 restarts */
	}
	inc2 = 0x102;
}
END_TEST

/*
 * Link health across members (doc/CLUSTER.md): the holder's view is the
 * site's.  A backup takes the holder's link states from its SESSION (a
 * down one held as the Socket's word: probes arriving here do not bring
 * it back); the holder tells the members of a change; nobody judges a
 * link by the silence it hears; a new session keeps no other member's
 * down; REASSIGN refuses only a link the Socket says is down.
 */
START_TEST(cluster_link_states)
{
	static uint8_t                    msg[CLUSTERSYNC_SESSION_MAX];
	static uint8_t                    body[CLUSTERSYNC_SESSION_BODY_MAX];
	static struct clustersync_session m;
	struct site                      *site = &pd->sites[1];
	struct ctl_hello                  h;
	struct ctl_move                   mv[2];
	struct ctl_reassign               r;
	struct session                   *s;
	uint32_t                          id = UINT32_C(1) << 27 | 11;
	uint64_t                          now;
	int                               i;

	/* A backup: WAN2 down at the holder. */
	msg_down = 2;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_ptr_nonnull(s = site->session);
	ck_assert_int_eq(s->link_down[s->index_of[0]], 0);
	ck_assert_int_eq(s->link_down[s->index_of[1]], 1);
	ck_assert_int_eq(s->socket_down[s->index_of[1]], 1);
	/* Its probes here do not overrule the holder while WAN1 is up. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(session_probe_back(s, s->index_of[1], 3), 0);
	/* The holder says WAN2 up, WAN1 down: so it is here. */
	msg_down = 1;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_ptr_eq(site->session, s);
	ck_assert_int_eq(s->link_down[s->index_of[0]], 1);
	ck_assert_int_eq(s->link_down[s->index_of[1]], 0);
	ck_assert_int_eq(s->socket_down[s->index_of[1]], 0);
	/* An endpoint this node lacks comes with any SESSION, not only the
	 * first: it may own flows on a link that lands elsewhere. */
	s->endpoint_len[0] = 0;
	csync_deliver(pd->csync, 1, 2, msg, session_msg(msg, 1, 1, id, 0x100));
	ck_assert_uint_eq(s->endpoint_len[0], sizeof(struct sockaddr_in));
	/* Silence here says nothing: a link lands on one member. */
	now = now_ms() + 60000;
	pd->health_next = 0;
	while (health_walk(pd, now))
		;
	ck_assert_int_eq(s->link_down[s->index_of[1]], 0);
	msg_down = 0;

	/* The site's channel lands here: a session of this node's, which
	 * keeps no down of the backup's (the Socket restates its downs
	 * after WELCOME). */
	hello(&h, 0);
	ck_assert_ptr_nonnull(
	    s = session_make(pd, site, NULL, &h, csync_session_id(pd),
		csync_derive, csync_own_state(pd, 1)));
	ck_assert_int_eq(session_install(pd, s), 0);
	ck_assert_ptr_eq(site->session, s);
	ck_assert_int_eq(s->link_down[0], 0);
	ck_assert_int_eq(s->link_down[1], 0);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	nsent = 0;
	/* A change at the holder goes to the members, with its state. */
	pthread_mutex_lock(&pd->engine_mu);
	s->socket_down[1] = 1;
	session_link_state(s, 1, 0, "the Socket sees it down");
	pthread_mutex_unlock(&pd->engine_mu);
	ck_assert_uint_eq(nsent, 0);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(clustersync_session_decode(body,
			     (size_t)open_sent(CLUSTERSYNC_SESSION, body), &m),
	    CLUSTERSYNC_OK);
	ck_assert_uint_eq(m.links[0].down, 0);
	ck_assert_uint_eq(m.links[1].down, 1);
	/* No change: nothing sent. */
	pthread_mutex_lock(&pd->engine_mu);
	session_link_state(s, 1, 0, "the Socket sees it down");
	pthread_mutex_unlock(&pd->engine_mu);
	(void)event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(nsent, 1);

	/* REASSIGN: a move to a link the Socket says is down is refused;
	 * to one down here but not by its word, taken. */
	memset(&r, 0, sizeof(r));
	memset(mv, 0, sizeof(mv));
	for (i = 0; i < 2; i++) {
		mv[i].key.family = 4;
		mv[i].key.proto = 17;
		mv[i].key.pa = (uint16_t)(1000 + i);
		mv[i].key.pb = 53;
		mv[i].key.a[0] = 10;
		mv[i].key.a[1] = 1;
		mv[i].key.a[3] = 10;
		mv[i].key.b[0] = 192;
		mv[i].key.b[3] = 1;
	}
	mv[0].link = 1;
	mv[1].link = 0;
	r.dead_link = CTL_LINK_NONE;
	r.last = 1;
	r.total = r.nmoves = 2;
	r.moves = mv;
	pthread_mutex_lock(&pd->engine_mu);
	s->link_down[0] = 1; /* not the Socket's word */
	session_reassign(s, &r);
	pthread_mutex_unlock(&pd->engine_mu);
	ck_assert_uint_eq(s->reassign_refused, 1);
	ck_assert_uint_eq(s->reassign_inserted, 1);
}
END_TEST

/* A link that goes down takes no flow with it: its flows move to the
 * live link, and a link that comes back takes new flows again while the
 * moved ones stay (failback "new-flows"). */
START_TEST(link_down_moves_flows)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	s = session(&h, 0x1001);
	flows_on(s->engine, 1, 6, 0);
	flows_on(s->engine, 11, 3, 1);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 6);
	ck_assert_uint_eq(n[1], 3);

	session_link_state(s, 0, 0, "silent");
	ck_assert_int_eq(s->link_down[0], 1);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 9);
	/* the same news twice moves nothing more */
	session_link_state(s, 0, 0, "silent");
	count(s->engine, n);
	ck_assert_uint_eq(n[1], 9);

	session_link_state(s, 0, 1, "heard again");
	ck_assert_int_eq(s->link_down[0], 0);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 9);
	session_free(s);
}
END_TEST

/* The Socket's service-level verdicts (LINK_STATE "degraded") land on
 * popd's profiles of the same names, unknown names ignored; they move
 * no flow (the Socket's REASSIGN does), and the next LINK_STATE without
 * the name clears it. */
START_TEST(link_state_sla_verdicts)
{
	struct ctl_hello      h;
	struct ctl_link_state ls;
	struct session       *s;
	const struct balance *b;
	uint64_t              n[CONFIG_MAX_LINKS];
	json_t               *j;

	hello(&h, 0);
	s = session(&h, 0x1003);
	b = engine_balance(s->engine);
	ck_assert_str_eq(pd->conf->profiles[0].name, "default");
	flows_on(s->engine, 1, 6, 0);
	memset(&ls, 0, sizeof(ls));
	ls.up = 1;
	ls.ndegraded = 2;
	snprintf(ls.degraded[0], sizeof(ls.degraded[0]), "voice");
	snprintf(ls.degraded[1], sizeof(ls.degraded[1]), "default");
	session_link_sla(s, pd->conf, 0, &ls);
	ck_assert_int_eq(balance_degraded(b, 0, 0), 1);
	ck_assert_int_eq(balance_degraded(b, 0, 1), 0);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 6);
	ck_assert_ptr_nonnull(j = session_sla_json(s, pd->conf, 0, 0));
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert_str_eq(json_string_value(json_array_get(j, 0)), "default");
	json_decref(j);
	ck_assert_ptr_nonnull(j = session_sla_json(s, pd->conf, 1, 1));
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert(
	    json_is_false(json_object_get(json_array_get(j, 0), "degraded")));
	json_decref(j);

	ls.ndegraded = 1; /* "voice" only: popd has none */
	session_link_sla(s, pd->conf, 0, &ls);
	ck_assert_int_eq(balance_degraded(b, 0, 0), 0);
	session_free(s);
}
END_TEST

/*
 * The Socket's link-down notice (proto/linkdown.h) takes the link down
 * and moves its flows at once; its copies, an older notice and one for
 * a link the session does not have change nothing and are counted; a
 * newer notice after the link came back takes it down again, and each
 * link's numbers are its own (notices for two links may cross).
 */
START_TEST(link_down_notice)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	s = session(&h, 0x1003);
	s->site->linkdown_rx = s->site->linkdown_applied = 0;
	flows_on(s->engine, 1, 6, 0);
	flows_on(s->engine, 11, 3, 1);
	/* WAN1 is wire id 0, WAN2 wire id 1 */
	session_link_down_notice(s, 0, LINKDOWN_CARRIER, 7);
	ck_assert_int_eq(s->link_down[0], 1);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 9);
	ck_assert_uint_eq(s->site->linkdown_applied, 1);
	session_link_down_notice(s, 0, LINKDOWN_CARRIER, 7);
	session_link_down_notice(s, 0, LINKDOWN_CARRIER, 7);
	ck_assert_uint_eq(s->site->linkdown_rx, 3);
	ck_assert_uint_eq(s->site->linkdown_applied, 1);

	/* Back up (probes); a late copy of notice 7, or an older one, does
	 * not take it down again. */
	session_link_state(s, 0, 1, "probes arrive again");
	session_link_down_notice(s, 0, LINKDOWN_CARRIER, 7);
	session_link_down_notice(s, 0, LINKDOWN_PROBES, 6);
	ck_assert_int_eq(s->link_down[0], 0);
	/* Notice 9 for WAN2 came before notice 8 for WAN1: both act. */
	flows_on(s->engine, 21, 2, 0);
	session_link_down_notice(s, 1, LINKDOWN_PROBES, 9);
	ck_assert_int_eq(s->link_down[1], 1);
	session_link_state(s, 1, 1, "probes arrive again");
	session_link_down_notice(s, 0, LINKDOWN_PROBES, 8);
	ck_assert_int_eq(s->link_down[0], 1);
	ck_assert_int_eq(s->link_down[1], 0);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 11);
	/* Numbers wrap (serial-number order): 1 is newer than 0xfffffff0. */
	session_link_state(s, 0, 1, "probes arrive again");
	s->linkdown_seq[0] = 0xfffffff0u;
	session_link_down_notice(s, 0, LINKDOWN_ADMIN, 1);
	ck_assert_int_eq(s->link_down[0], 1);
	/* A link id the HELLO did not announce, or past any link. */
	session_link_down_notice(s, 5, LINKDOWN_CARRIER, 100);
	session_link_down_notice(s, 255, LINKDOWN_CARRIER, 101);
	ck_assert_uint_eq(s->site->linkdown_applied, 4);
	ck_assert_uint_eq(s->site->linkdown_rx, 10);
	session_free(s);
}
END_TEST

/*
 * Probes arriving again bring a link the PoP took down back after
 * up_after of them, but not one the Socket said is down (by notice or
 * LINK_STATE) while another link is up: the Socket may hear nothing on
 * it, a link dead one way only, and return flows on it would be lost.
 * With every link down the probes count again.
 */
START_TEST(probes_do_not_overrule_the_socket)
{
	struct ctl_hello h;
	struct session  *s;
	int              i, back = 0;

	hello(&h, 0);
	s = session(&h, 0x1004);
	/* The PoP's own judgement (silence): probes bring it back. */
	session_link_state(s, 0, 0, "nothing from the site");
	for (i = 0; i < 29; i++)
		back |= session_probe_back(s, 0, 30);
	ck_assert_int_eq(back, 0);
	ck_assert_int_eq(session_link_back(s, 0, 30), 0);
	ck_assert_int_eq(session_probe_back(s, 0, 30), 1);
	ck_assert_int_eq(session_link_back(s, 0, 30), 1);
	session_link_state(s, 0, 1, "probes arrive again");

	/* The Socket's notice: no number of probes brings it back. */
	session_link_down_notice(s, 0, LINKDOWN_PROBES, 1);
	ck_assert_int_eq(s->link_down[0], 1);
	for (i = 0; i < 1000; i++)
		back |= session_probe_back(s, 0, 30);
	ck_assert_int_eq(back, 0);
	ck_assert_int_eq(session_link_back(s, 0, 30), 0);
	ck_assert_int_eq(s->link_down[0], 1);
	/* Every link down: the probes count again (a link the Socket may
	 * not hear beats none; its word may be stuck with its channel). */
	session_link_state(s, 1, 0, "nothing from the site");
	for (i = 0; i < 29; i++)
		back |= session_probe_back(s, 0, 30);
	ck_assert_int_eq(back, 0);
	ck_assert_int_eq(session_probe_back(s, 0, 30), 1);
	ck_assert_int_eq(session_link_back(s, 0, 30), 1);
	session_free(s);
}
END_TEST

/* Every link down: the flows wait on their links, and the first link
 * back takes them all. */
START_TEST(all_links_down_then_one_back)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	s = session(&h, 0x1002);
	flows_on(s->engine, 1, 4, 0);
	flows_on(s->engine, 11, 2, 1);
	session_link_state(s, 1, 0, "silent");
	session_link_state(s, 0, 0, "silent");
	count(s->engine, n);
	ck_assert_uint_eq(n[0] + n[1], 6);
	session_link_state(s, 1, 1, "heard again");
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 6);
	session_free(s);
}
END_TEST

/*
 * The Socket reconnects (a new HELLO, here with its links listed the
 * other way round): the new session takes over the old one's flows on
 * the same links by name, each link's endpoint (and the data socket it
 * came in on) and its down state, and replaces it in the index by
 * session id.
 */
START_TEST(new_hello_takes_over)
{
	struct ctl_hello    h;
	struct session     *old, *s;
	struct sockaddr_in *sin;
	uint64_t            n[CONFIG_MAX_LINKS];
	size_t              i, found_old = 0, found_new = 0;

	hello(&h, 0);
	old = session(&h, 0x2001);
	session_index_swap(pd, NULL, old);
	flows_on(old->engine, 1, 5, 0);
	flows_on(old->engine, 11, 2, 1);
	sin = (struct sockaddr_in *)&old->endpoint[1];
	sin->sin_family = AF_INET;
	sin->sin_port = htons(4242);
	old->endpoint_len[1] = sizeof(*sin);
	old->endpoint_lsn[1] = 1; /* came in on the second listen entry */
	session_link_state(old, 0, 0, "silent"); /* WAN1's 5 go to WAN2 */

	hello(&h, 1); /* WAN2 first now */
	s = session(&h, 0x2002);
	session_inherit(s, old);
	session_index_swap(pd, old, s);
	session_free(old);

	ck_assert_str_eq(s->links[0].name, "WAN2");
	ck_assert_int_eq(s->link_down[0], 0);
	ck_assert_int_eq(s->link_down[1], 1); /* WAN1, still down */
	ck_assert_uint_eq(s->endpoint_len[0], sizeof(*sin));
	sin = (struct sockaddr_in *)&s->endpoint[0];
	ck_assert_uint_eq(ntohs(sin->sin_port), 4242);
	ck_assert_uint_eq(s->endpoint_lsn[0], 1); /* and is answered there */
	ck_assert_uint_eq(s->endpoint_len[1], 0);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 7); /* all on WAN2, index 0 now */
	ck_assert_uint_eq(n[1], 0);

	for (i = 0; i <= pd->sess_mask; i++) {
		found_old += pd->sess_index[i] != NULL &&
		    pd->sess_index[i]->id == 0x2001;
		found_new += pd->sess_index[i] == s;
	}
	ck_assert_uint_eq(found_old, 0);
	ck_assert_uint_eq(found_new, 1);
	session_index_swap(pd, s, NULL);
	session_free(s);
}
END_TEST

/* A link the new HELLO no longer announces fails over as in a reload:
 * its flows move to the links that remain. */
START_TEST(new_hello_without_a_link)
{
	struct ctl_hello h;
	struct session  *old, *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	old = session(&h, 0x3001);
	flows_on(old->engine, 1, 4, 0);
	flows_on(old->engine, 11, 3, 1);
	h.nlinks = 1; /* WAN1 only */
	s = session(&h, 0x3002);
	session_inherit(s, old);
	session_free(old);
	count(s->engine, n);
	ck_assert_uint_eq(n[0], 7);
	session_free(s);
}
END_TEST

/*
 * A request answered in chunks (ctlsrv_rows), as daemon/ctlsrv.c drives
 * it: every row, the head's and the tail's members in one object.
 * max rows a call.
 */
static json_t *
ctl_all(const struct ctlsock_req *req, size_t max)
{
	struct ctlsrv_rows rows = {0};
	json_t            *reply, *result, *arr, *tail;
	int                more;

	reply = popd_answer(pd, req, &rows);
	ck_assert_ptr_nonnull(reply);
	if (rows.next == NULL)
		return reply; /* an error, or not streamed */
	ck_assert(json_is_true(json_object_get(reply, "ok")));
	result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	arr = json_array();
	do {
		more = rows.next(rows.cur, arr, max);
		ck_assert_int_ge(more, 0);
	} while (more == 1);
	tail = rows.tail(rows.cur);
	json_object_update(result, tail);
	json_decref(tail);
	json_object_set_new(result, rows.key, arr);
	rows.free(rows.cur);
	return result;
}

static struct ctlsock_req
req_of(enum ctlsock_cmd cmd, const char *link, const char *site, uint32_t limit)
{
	struct ctlsock_req r;

	memset(&r, 0, sizeof(r));
	r.cmd = cmd;
	snprintf(r.link, sizeof(r.link), "%s", link);
	snprintf(r.site, sizeof(r.site), "%s", site);
	r.limit = limit;
	return r;
}

static json_int_t
member_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/*
 * `flows` on popd, a chunk at a time: every flow of the site once, the
 * link and site filters, the limit, the total from the tables' counts.
 */
START_TEST(ctl_flows_streamed)
{
	struct ctl_hello   h;
	struct ctlsock_req r;
	struct session    *b17;
	json_t            *res, *row;
	char               seen[2000] = {0};
	size_t             i;

	hello(&h, 0);
	pd->sites[1].session = b17 = session(&h, 0x5001);
	session_index_swap(pd, NULL, b17);
	flows_on(b17->engine, 1, 300, 0);
	flows_on(b17->engine, 301, 100, 1);

	r = req_of(CTLSOCK_FLOWS, "", "", 100000);
	res = ctl_all(&r, 7);
	ck_assert_int_eq(member_int(res, "total"), 400);
	ck_assert_int_eq(member_int(res, "shown"), 400);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "flows")), 400);
	json_array_foreach(json_object_get(res, "flows"), i, row)
	{
		json_int_t sport = member_int(row, "sport") - 1000;

		ck_assert_str_eq(
		    json_string_value(json_object_get(row, "site")),
		    "branch-17");
		ck_assert(sport >= 1 && sport <= 400);
		ck_assert_msg(
		    !seen[sport], "flow %lld twice", (long long)sport);
		seen[sport] = 1;
	}
	json_decref(res);

	r = req_of(CTLSOCK_FLOWS, "WAN2", "", 100000);
	res = ctl_all(&r, CTLSRV_CHUNK_ROWS);
	ck_assert_int_eq(member_int(res, "total"), 100);
	ck_assert_int_eq(member_int(res, "shown"), 100);
	json_array_foreach(json_object_get(res, "flows"), i, row)
	    ck_assert_str_eq(
		json_string_value(json_object_get(row, "link")), "WAN2");
	json_decref(res);

	r = req_of(CTLSOCK_FLOWS, "", "branch-17", 50);
	res = ctl_all(&r, 16);
	ck_assert_int_eq(member_int(res, "total"), 400);
	ck_assert_int_eq(member_int(res, "shown"), 50);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "flows")), 50);
	json_decref(res);

	r = req_of(CTLSOCK_FLOWS, "", "hq", 100);
	res = ctl_all(&r, 16);
	ck_assert_int_eq(member_int(res, "total"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "flows")), 0);
	json_decref(res);

	/* refusals quote what was wrong */
	r = req_of(CTLSOCK_FLOWS, "WAN9", "", 100);
	res = ctl_all(&r, 16);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(res, "error")),
		"unknown link \"WAN9\""));
	json_decref(res);
	r = req_of(CTLSOCK_FLOWS, "", "nowhere", 100);
	res = ctl_all(&r, 16);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(res, "error")),
		"unknown site \"nowhere\""));
	json_decref(res);

	/*
	 * A reconnect mid-walk: the site's table stays (site->engine, the
	 * session takes its flows over with session_inherit()), and the
	 * walk goes on through it: every flow once.
	 */
	{
		struct ctlsrv_rows rows = {0};
		json_t            *arr = json_array(), *reply;
		struct session    *n;
		size_t             before, first;

		r = req_of(CTLSOCK_FLOWS, "", "", 100000);
		reply = popd_answer(pd, &r, &rows);
		/* branch-1's empty table first (a few steps), then
		 * branch-17's */
		while (json_array_size(arr) == 0)
			ck_assert_int_eq(rows.next(rows.cur, arr, 50), 1);
		first = json_array_size(arr);
		n = session(&h, 0x5002);
		session_inherit(n, b17);
		session_index_swap(pd, b17, n);
		pd->sites[1].session = n;
		session_free(b17);
		ck_assert_int_eq(rows.next(rows.cur, arr, 50), 1);
		before = json_array_size(arr);
		ck_assert_uint_gt(before, first); /* the same table, on */
		/* The site's table is cleared (a session that does not take
		 * over the last one's flows) and refilled: the walk goes on
		 * in the same table and may show some of the new flows, never
		 * a 5-tuple twice. */
		b17 = n;
		n = session(&h, 0x5003);
		session_index_swap(pd, b17, n);
		pd->sites[1].session = n;
		session_free(b17);
		flow_table_clear(engine_flows(pd->sites[1].engine));
		flows_on(n->engine, 1, 10, 0);
		while (rows.next(rows.cur, arr, 50) == 1)
			;
		ck_assert_uint_le(json_array_size(arr), before + 10);
		memset(seen, 0, sizeof(seen));
		json_array_foreach(arr, i, row)
		{
			json_int_t sport = member_int(row, "sport") - 1000;

			ck_assert_msg(
			    !seen[sport], "flow %lld twice", (long long)sport);
			seen[sport] = 1;
		}
		rows.free(rows.cur);
		json_decref(arr);
		json_decref(reply);
	}
	/* and a walk from the start sees the new table */
	r = req_of(CTLSOCK_FLOWS, "", "", 100000);
	res = ctl_all(&r, 7);
	ck_assert_int_eq(member_int(res, "shown"), 10);
	json_decref(res);
}
END_TEST

/* popd.json in the PKI directory, the TLS files from the given dirs. */
static void
write_conf_more(
    const char *listen, const char *tlsdir, const char *sites, const char *more)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path("popd.json"), "w"));
	ck_assert_int_gt(
	    fprintf(f, POPD_JSON, listen, pki, tlsdir, tlsdir, sites, more), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_conf(const char *listen, const char *tlsdir, const char *sites)
{
	write_conf_more(listen, tlsdir, sites, "");
}

static void
setup_file(void)
{
	struct config_errors errs = {0};
	struct config       *conf;

	write_conf("198.18.0.1", pki, three_sites);
	conf = config_load(path("popd.json"), CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	popd_from(conf);
}

static size_t
indexed(void)
{
	size_t i, n = 0;

	for (i = 0; i <= pd->sess_mask; i++)
		n += pd->sess_index[i] != NULL;
	return n;
}

/* A connection of site `site` as listen.c makes one (over a socket
 * pair, no TLS), past its certificate check. */
static struct conn *
conn_of(size_t site, int sv[2])
{
	struct conn *c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_ptr_nonnull(c = calloc(1, sizeof(*c)));
	c->pd = pd;
	pd->nconns++;
	if ((c->next = pd->conns) != NULL)
		c->next->prevp = &c->next;
	c->prevp = &pd->conns;
	pd->conns = c;
	ck_assert_ptr_nonnull(c->bev = bufferevent_socket_new(
				  base, sv[0], BEV_OPT_CLOSE_ON_FREE));
	c->site = &pd->sites[site];
	return c;
}

/*
 * One connection a site: a newer one of the same site replaces the older
 * (closed with a BYE, counted), another site's is left alone, and a site
 * whose connection is gone has none.
 */
START_TEST(newer_connection_replaces)
{
	struct conn *c1, *c2, *c3;
	int          sv1[2], sv2[2], sv3[2];

	c1 = conn_of(1, sv1);
	conn_take_site(c1);
	ck_assert_ptr_eq(pd->sites[1].conn, c1);
	c2 = conn_of(1, sv2);
	conn_take_site(c2);
	ck_assert_int_eq(c1->closing, 1);
	ck_assert_int_eq(c2->closing, 0);
	ck_assert_ptr_eq(pd->sites[1].conn, c2);
	ck_assert_uint_eq(pd->replaced, 1);
	c3 = conn_of(2, sv3);
	conn_take_site(c3);
	ck_assert_ptr_eq(pd->sites[2].conn, c3);
	ck_assert_ptr_eq(pd->sites[1].conn, c2);
	ck_assert_int_eq(c2->closing, 0);
	ck_assert_uint_eq(pd->replaced, 1);
	conn_free(c1); /* the replaced one going does not touch c2 */
	ck_assert_ptr_eq(pd->sites[1].conn, c2);
	conn_free(c2);
	ck_assert_ptr_null(pd->sites[1].conn);
	control_close(c3, "test");
	ck_assert_ptr_null(pd->sites[2].conn);
	conn_free(c3);
	ck_assert_ptr_null(pd->conns);
	close(sv1[1]);
	close(sv2[1]);
	close(sv3[1]);
}
END_TEST

/*
 * The health walk over 2,000 sites goes HEALTH_CHUNK (500) sites a
 * callback, so that packets are served between chunks, and still reaches
 * every site: a silent link of the first, a middle and the last site goes
 * down in the chunk that holds it, and the walk then starts over.
 */
/*
 * The silence of one link among live ones takes it down at once (down_after
 * intervals and a quarter: 102 ms with the defaults); the silence of every
 * link at once (the Socket stalled, or this popd) waits LINK_SILENT_HOLD_MS
 * longer, and then takes them down.
 */
START_TEST(health_walk_all_silent_waits)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         now = 1000000, quiet;

	quiet =
	    (uint64_t)pd->conf->probe_down_after * pd->conf->probe_interval_ms +
	    pd->conf->probe_interval_ms / 4;
	hello(&h, 0);
	s = session(&h, 0x1004);
	pd->sites[1].session = s;
	pd->health_next = 0;
	/* WAN1 silent, WAN2 heard 1 ms ago: WAN1 goes down. */
	s->rx_last_ms[0] = now - quiet;
	s->rx_last_ms[1] = now - 1;
	while (health_walk(pd, now))
		;
	ck_assert_uint_eq(s->link_down[0], 1);
	ck_assert_uint_eq(s->link_down[1], 0);
	session_link_state(s, 0, 1, "back");
	/* WAN2 heard only a probe or so after WAN1 (both silent since, as
	 * in a stall): neither goes down yet. */
	s->rx_last_ms[0] = now - quiet - 10;
	s->rx_last_ms[1] = now - quiet;
	while (health_walk(pd, now))
		;
	ck_assert_uint_eq(s->link_down[0], 0);
	ck_assert_uint_eq(s->link_down[1], 0);
	/* Both silent as long: neither goes down yet. */
	s->rx_last_ms[0] = s->rx_last_ms[1] = now - quiet;
	while (health_walk(pd, now))
		;
	ck_assert_uint_eq(s->link_down[0], 0);
	ck_assert_uint_eq(s->link_down[1], 0);
	now += LINK_SILENT_HOLD_MS - 1;
	while (health_walk(pd, now))
		;
	ck_assert_uint_eq(s->link_down[0], 0);
	now++;
	while (health_walk(pd, now))
		;
	ck_assert_uint_eq(s->link_down[0], 1);
	ck_assert_uint_eq(s->link_down[1], 1);
	pd->sites[1].session = NULL;
	session_free(s);
}
END_TEST

START_TEST(health_walk_in_chunks)
{
	static const long at[] = {0, 700, 1999};
	struct ctl_hello  h;
	struct session   *s[3];
	uint64_t          now = 1000000;
	size_t            k;

	popd_many(2000);
	hello(&h, 0);
	h.nlinks = 1;
	for (k = 0; k < 3; k++) {
		snprintf(h.site, sizeof(h.site), "s%ld", at[k]);
		h.lan[0] = pd->conf->sites[at[k]].lan[0];
		s[k] = session_of((size_t)at[k], &h, (uint32_t)(0x9000 + k));
		pd->sites[at[k]].session = s[k];
		s[k]->rx_last_ms[0] = now - 60000; /* a minute of silence */
	}
	ck_assert_int_eq(health_walk(pd, now), 1); /* 0 .. 499 */
	ck_assert_uint_eq(s[0]->link_down[0], 1);
	ck_assert_uint_eq(s[1]->link_down[0], 0);
	ck_assert_int_eq(health_walk(pd, now), 1); /* 500 .. 999 */
	ck_assert_uint_eq(s[1]->link_down[0], 1);
	ck_assert_uint_eq(s[2]->link_down[0], 0);
	ck_assert_int_eq(health_walk(pd, now), 1);
	ck_assert_int_eq(health_walk(pd, now), 0); /* 1500 .. 1999: done */
	ck_assert_uint_eq(s[2]->link_down[0], 1);
	ck_assert_uint_eq(pd->health_next, 0);
	/* a reload that leaves fewer sites than the walk had reached ends
	 * it, and the next walk starts from the first site */
	pd->health_next = 1500;
	pd->nsites = 1000;
	ck_assert_int_eq(health_walk(pd, now), 0);
	ck_assert_uint_eq(pd->health_next, 0);
	pd->nsites = 2000;
}
END_TEST

/*
 * A worker's batch may apply what it heard (its clock, read after the
 * health walk read its own) while the walk waits for the engine's lock:
 * a link heard a moment "after" the walk's now is alive, not silent for
 * 2^64 ms, and the one really silent beside it still goes down.
 */
START_TEST(health_walk_heard_after_now)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         now = 1000000;

	hello(&h, 0);
	s = session(&h, 0x1003);
	pd->sites[1].session = s;
	s->rx_last_ms[0] = now + 2;     /* a worker's batch, 2 ms on */
	s->rx_last_ms[1] = now - 60000; /* a minute of silence */
	ck_assert_int_eq(health_walk(pd, now), 0);
	ck_assert_uint_eq(s->link_down[0], 0);
	ck_assert_uint_eq(s->link_down[1], 1);
}
END_TEST

/*
 * A session holds its links' state for its own links (not 32 of each):
 * with 1 and with all 32 links every link's endpoint, counters and state
 * are its own, and a session of one link is a small allocation.
 */
START_TEST(session_sized_by_its_links)
{
	struct ctl_hello h;
	struct session  *s;
	size_t           n, i;

	hello(&h, 0);
	for (n = 1; n <= CONFIG_MAX_LINKS; n += CONFIG_MAX_LINKS - 1) {
		h.nlinks = n;
		for (i = 0; i < n; i++) {
			snprintf(h.links[i].name, sizeof(h.links[i].name),
			    "L%zu", i);
			h.links[i].id = (uint8_t)(CONFIG_MAX_LINKS - 1 - i);
			h.links[i].down_mbps = (uint32_t)(10 + i);
		}
		s = session(&h, (uint32_t)(0x8000 + n));
		ck_assert_uint_eq(s->nlinks, n);
		for (i = 0; i < n; i++) {
			struct sockaddr_in *sin =
			    (struct sockaddr_in *)&s->endpoint[i];

			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)(1000 + i));
			s->endpoint_len[i] = sizeof(*sin);
			s->endpoint_moves[i] = s->new_flows[i] = i + 1;
			s->tx_packets[i] = s->tx_bytes[i] = i + 2;
			s->rx_packets[i] = s->rx_bytes[i] = i + 3;
			s->probes_back[i] = (uint32_t)i + 4;
			s->linkdown_seq[i] = (uint32_t)i + 5;
			s->link_down[i] = (uint8_t)(i & 1);
		}
		for (i = 0; i < n; i++) {
			ck_assert_uint_eq(
			    s->index_of[CONFIG_MAX_LINKS - 1 - i], i);
			ck_assert_str_eq(s->links[i].name, h.links[i].name);
			ck_assert_uint_eq(
			    ntohs(((struct sockaddr_in *)&s->endpoint[i])
				      ->sin_port),
			    1000 + i);
			ck_assert_uint_eq(
			    s->endpoint_len[i], sizeof(struct sockaddr_in));
			ck_assert_uint_eq(s->endpoint_moves[i], i + 1);
			ck_assert_uint_eq(s->new_flows[i], i + 1);
			ck_assert_uint_eq(s->tx_bytes[i], i + 2);
			ck_assert_uint_eq(s->rx_bytes[i], i + 3);
			ck_assert_uint_eq(s->probes_back[i], i + 4);
			ck_assert_uint_eq(s->linkdown_seq[i], i + 5);
			ck_assert_uint_eq(s->link_down[i], i & 1);
			ck_assert_uint_gt(s->rx_last_ms[i], 0);
		}
		session_free(s);
	}
}
END_TEST

/*
 * One pool of flows.max (4096 here) for the three sites, a third each:
 * branch-17 floods new flows and fills its own cap, evicting its own
 * idle flows; hq's flows stay and it still gets new ones.
 */
START_TEST(flood_fills_its_own_cap)
{
	struct ctl_hello h;
	struct session  *b17, *hq;
	struct engine   *e;

	ck_assert_uint_eq(flow_pool_max(pd->flow_pool), 4096);
	ck_assert_uint_eq(
	    flow_table_max(engine_flows(pd->sites[0].engine)), 1365);
	hello(&h, 0);
	pd->sites[1].session = b17 = session(&h, 0x6001);
	snprintf(h.site, sizeof(h.site), "hq");
	pd->sites[2].session = hq = session_of(2, &h, 0x6002);
	flows_on(hq->engine, 1, 10, 0);
	flows_on(b17->engine, 1, 3000, 0);

	e = b17->engine;
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 1365);
	ck_assert_uint_eq(flow_table_evictions(engine_flows(e)), 3000 - 1365);
	ck_assert_uint_eq(flow_table_refused(engine_flows(e)), 0);
	ck_assert_uint_eq(flow_table_count(engine_flows(hq->engine)), 10);
	ck_assert_uint_eq(flow_table_evictions(engine_flows(hq->engine)), 0);
	flows_on(hq->engine, 11, 5, 1);
	ck_assert_uint_eq(flow_table_count(engine_flows(hq->engine)), 15);
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 1365 + 15);
	session_free(b17);
	session_free(hq);
	pd->sites[1].session = pd->sites[2].session = NULL;
}
END_TEST

/*
 * A HELLO allocates no table: the new session balances over the site's
 * engine (its flows kept, on their links by name); a session that ends
 * with no successor gives the site's flows back to the pool.
 */
START_TEST(hello_reuses_the_sites_table)
{
	struct ctl_hello   h;
	struct session    *old, *s;
	struct flow_table *t = engine_flows(pd->sites[1].engine);

	hello(&h, 0);
	pd->sites[1].session = old = session(&h, 0x7001);
	session_index_swap(pd, NULL, old);
	ck_assert_ptr_eq(old->engine, pd->sites[1].engine);
	flows_on(old->engine, 1, 6, 1);
	hello(&h, 1);
	s = session(&h, 0x7002);
	session_inherit(s, old);
	session_index_swap(pd, old, s);
	session_free(old);
	pd->sites[1].session = s;
	ck_assert_ptr_eq(s->engine, pd->sites[1].engine);
	ck_assert_ptr_eq(engine_flows(s->engine), t);
	ck_assert_uint_eq(flow_table_link_count(t, 0), 6); /* WAN2, first now */
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 6);

	session_link_state(s, 0, 0, "silent");
	session_link_state(s, 1, 0, "silent");
	session_end(pd, &pd->sites[1]);
	ck_assert_ptr_null(pd->sites[1].session);
	ck_assert_uint_eq(indexed(), 0);
	ck_assert_uint_eq(flow_table_count(t), 0);
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 0);
	/* the next session starts from an empty table, the same one, its
	 * links up whatever they were when the last one expired */
	hello(&h, 0);
	s = session(&h, 0x7003);
	ck_assert_ptr_eq(engine_flows(s->engine), t);
	ck_assert_int_eq(balance_link_is_up(engine_balance(s->engine), 0), 1);
	ck_assert_int_eq(balance_link_is_up(engine_balance(s->engine), 1), 1);
	flows_on(s->engine, 1, 2, 1);
	ck_assert_uint_eq(flow_table_link_count(t, 1), 2);
	session_free(s);
}
END_TEST

/*
 * A reload through the skeleton (daemon_reload(), as SIGHUP and
 * `wanpairctl reload` run it): branch-1 removed, hq's identity changed,
 * branch-20 added.  branch-17's session goes on with its flows, hq's
 * ends (its keys were made for the old identity), and return traffic
 * finds the new site.
 */
START_TEST(reload_sites)
{
	static const char new_sites[] =
	    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
	    " \"lan\": [\"10.17.0.0/16\", \"2001:db8:17::/48\"]},"
	    "{\"name\": \"hq\", \"identity\": \"hq2.example.net\","
	    " \"lan\": [\"10.18.1.0/24\", \"192.168.0.0/16\"]},"
	    "{\"name\": \"branch-20\", \"identity\": \"b20.example.net\","
	    " \"lan\": [\"10.20.0.0/16\"]}";
	struct config_errors errs = {0};
	struct ctl_hello     h;
	struct session      *b17, *hq;
	uint64_t             n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	pd->sites[1].session = b17 = session(&h, 0x4001);
	session_index_swap(pd, NULL, b17);
	flows_on(b17->engine, 1, 3, 0);
	/* the Socket said WAN2 is degraded for the default profile */
	balance_set_degraded(engine_balance(b17->engine), 0, 1, 1);
	snprintf(h.site, sizeof(h.site), "hq");
	pd->sites[2].session = hq = session_of(2, &h, 0x4002);
	session_index_swap(pd, NULL, hq);
	flows_on(hq->engine, 1, 4, 0);
	ck_assert_uint_eq(indexed(), 2);
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 7);

	write_conf("198.18.0.1", pki, new_sites);
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);

	ck_assert_uint_eq(pd->nsites, 3);
	ck_assert_str_eq(pd->sites[0].conf->name, "branch-17");
	ck_assert_ptr_eq(pd->sites[0].session, b17);
	ck_assert_ptr_eq(b17->site, &pd->sites[0]);
	count(b17->engine, n);
	ck_assert_uint_eq(n[0], 3);
	/* ... and the new balance still has it: the Socket will not say
	 * it again until it changes */
	ck_assert_int_eq(
	    balance_degraded(engine_balance(b17->engine), 0, 1), 1);
	ck_assert_int_eq(
	    balance_degraded(engine_balance(b17->engine), 0, 0), 0);
	ck_assert_str_eq(pd->sites[1].conf->name, "hq");
	ck_assert_ptr_null(pd->sites[1].session);
	ck_assert_str_eq(pd->sites[2].conf->name, "branch-20");
	ck_assert_ptr_null(pd->sites[2].session);
	ck_assert_uint_eq(indexed(), 1);
	ck_assert_str_eq(site_of("10.20.1.1"), "branch-20");
	ck_assert_str_eq(site_of("10.1.2.3"), "(none)");
	/* the identities changed with the sites */
	ck_assert_int_eq(site_named("b17.example.net"), 0);
	ck_assert_int_eq(site_named("hq2.example.net"), 1);
	ck_assert_int_eq(site_named("b20.example.net"), 2);
	ck_assert_int_eq(site_named("hq.example.net"), -1);
	ck_assert_int_eq(site_named("b1.example.net"), -1);
	/* hq's flows went with its session, back to the pool; the added
	 * site has its table, at its share */
	ck_assert_uint_eq(
	    flow_table_count(engine_flows(pd->sites[1].engine)), 0);
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 3);
	ck_assert_ptr_nonnull(pd->sites[2].engine);
	ck_assert_uint_eq(
	    flow_table_max(engine_flows(pd->sites[2].engine)), 1365);

	/* A cap that shrinks evicts the site's flows idle longest above
	 * it; one that grows past the index it had is reserved first. */
	write_conf_more("198.18.0.1", pki,
	    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
	    " \"lan\": [\"10.17.0.0/16\"], \"flows_max\": 2},"
	    "{\"name\": \"hq\", \"identity\": \"hq2.example.net\","
	    " \"lan\": [\"10.18.1.0/24\"], \"flows_max\": 4000}",
	    "");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_eq(pd->sites[0].session, b17);
	ck_assert_uint_eq(flow_table_count(engine_flows(b17->engine)), 2);
	ck_assert_uint_eq(flow_table_max(engine_flows(b17->engine)), 2);
	ck_assert_uint_eq(flow_table_evictions(engine_flows(b17->engine)), 1);
	ck_assert_uint_eq(
	    flow_table_max(engine_flows(pd->sites[1].engine)), 4000);
	write_conf_more("198.18.0.1", pki,
	    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
	    " \"lan\": [\"10.17.0.0/16\"], \"flows_max\": 4000},"
	    "{\"name\": \"hq\", \"identity\": \"hq2.example.net\","
	    " \"lan\": [\"10.18.1.0/24\"], \"flows_max\": 2}",
	    "");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	flows_on(b17->engine, 100, 3000, 0);
	ck_assert_uint_eq(flow_table_count(engine_flows(b17->engine)), 3002);
	ck_assert_uint_eq(flow_table_evictions(engine_flows(b17->engine)), 1);
	ck_assert_uint_eq(flow_pool_used(pd->flow_pool), 3002);
}
END_TEST

/* 300 sites named site-NNN (and extra, if not NULL), in a shuffled
 * order; `skip` left out. */
static char *
many_sites(unsigned seed, int skip, const char *extra)
{
	size_t len = 300 * 120 + 256, off = 0;
	char  *t = malloc(len);
	int    i, k;

	ck_assert_ptr_nonnull(t);
	t[0] = '\0';
	for (i = 0; i < 300; i++) {
		k = (int)((unsigned)i * 7 + seed) % 300;
		if (k == skip)
			continue;
		off += (size_t)snprintf(t + off, len - off,
		    "%s{\"name\": \"site-%03d\", \"identity\": "
		    "\"s%d.example.net\", \"lan\": [\"10.%d.%d.0/24\"]}",
		    off > 0 ? "," : "", k, k, 100 + k / 200, k % 200);
	}
	if (extra != NULL)
		off += (size_t)snprintf(t + off, len - off, ",%s", extra);
	ck_assert_uint_lt(off, len);
	return t;
}

/*
 * `sites` a chunk at a time while a reload replaces pd->sites between
 * two chunks: removed site-050 (shown already) and site-150 (not yet),
 * added site-0005 (its name sorts before where the walk stands) and
 * site-999 (after), the order shuffled.  Every site there throughout is
 * shown once, none twice; the one added ahead of the walk is shown, the
 * one removed ahead of it is not.
 */
START_TEST(ctl_sites_across_reload)
{
	struct config_errors errs = {0};
	struct ctlsrv_rows   rows = {0};
	struct ctlsock_req   r;
	json_t              *reply, *arr, *row, *res;
	char                *t, seen[1000] = {0};
	const char          *name;
	size_t               i;
	int                  k, early = 0, late = 0;

	t = many_sites(0, -1, NULL);
	write_conf("198.18.0.1", pki, t);
	free(t);
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(pd->nsites, 300);

	r = req_of(CTLSOCK_SITES, "", "", 0);
	reply = popd_answer(pd, &r, &rows);
	ck_assert_ptr_nonnull(rows.next);
	ck_assert_int_eq(
	    member_int(json_object_get(reply, "result"), "total"), 300);
	arr = json_array();
	ck_assert_int_eq(rows.next(rows.cur, arr, 100), 1);
	ck_assert_uint_eq(json_array_size(arr), 100);
	/* in order of name */
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(arr, 99), "name")),
	    "site-099");

	t = many_sites(13, 150,
	    "{\"name\": \"site-999\", \"identity\": \"s999.example.net\","
	    " \"lan\": [\"10.99.0.0/24\"]},"
	    "{\"name\": \"site-0005\", \"identity\": \"s5b.example.net\","
	    " \"lan\": [\"10.99.1.0/24\"]}");
	/* and without site-050: a second skip by hand */
	{
		char *p = strstr(t, "{\"name\": \"site-050\"");
		char *q;

		ck_assert_ptr_nonnull(p);
		q = strchr(p, '}') + 1;
		if (*q == ',')
			q++;
		else if (p > t && p[-1] == ',')
			p--;
		memmove(p, q, strlen(q) + 1);
	}
	write_conf("198.18.0.1", pki, t);
	free(t);
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_uint_eq(pd->nsites, 300);

	while (rows.next(rows.cur, arr, 100) == 1)
		;
	json_array_foreach(arr, i, row)
	{
		name = json_string_value(json_object_get(row, "name"));
		if (strcmp(name, "site-0005") == 0) {
			early++;
			continue;
		}
		if (strcmp(name, "site-999") == 0) {
			late++;
			continue;
		}
		ck_assert_int_eq(sscanf(name, "site-%d", &k), 1);
		ck_assert_msg(!seen[k], "%s twice", name);
		seen[k] = 1;
	}
	for (k = 0; k < 300; k++)
		if (k != 150)
			ck_assert_msg(seen[k], "site-%03d not shown", k);
	ck_assert_msg(!seen[150], "site-150 shown after its removal");
	ck_assert_int_eq(early, 0);
	ck_assert_int_eq(late, 1);
	res = rows.tail(rows.cur);
	ck_assert_int_eq(member_int(res, "shown"), 300);
	json_decref(res);
	rows.free(rows.cur);
	json_decref(arr);
	json_decref(reply);

	/* --limit: the first n by name */
	r = req_of(CTLSOCK_SITES, "", "", 3);
	res = ctl_all(&r, CTLSRV_CHUNK_ROWS);
	ck_assert_int_eq(member_int(res, "total"), 300);
	ck_assert_int_eq(member_int(res, "shown"), 3);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(res, "sites"), 2), "name")),
	    "site-001");
	json_decref(res);
}
END_TEST

/*
 * A reload that cannot be applied whole is refused whole: a key bound at
 * start, or TLS files that do not load, leave every site and session as
 * they were, and the refusal says where, as config errors do.
 */
START_TEST(reload_refused)
{
	struct config_errors errs = {0};
	struct ctl_hello     h;
	struct session      *b17;
	char                 want[PATH_MAX + 64];

	hello(&h, 0);
	pd->sites[1].session = b17 = session(&h, 0x5001);
	session_index_swap(pd, NULL, b17);

	write_conf("198.18.0.2", pki,
	    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
	    " \"lan\": [\"10.17.0.0/16\"]}");
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof(want), "%s:1:", path("popd.json"));
	ck_assert_msg(strncmp(errs.lines[0], want, strlen(want)) == 0, "%s",
	    errs.lines[0]);
	ck_assert_ptr_nonnull(strstr(
	    errs.lines[0], ": listen.address: changing it needs a restart"));
	config_errors_clear(&errs);
	ck_assert_uint_eq(pd->nsites, 3);
	ck_assert_ptr_eq(pd->sites[1].session, b17);

	write_conf("198.18.0.1", "/nonexistent", three_sites);
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_ge(errs.n, 1);
	ck_assert_msg(
	    strstr(errs.lines[0], ": tls: ") != NULL, "%s", errs.lines[0]);
	config_errors_clear(&errs);
	ck_assert_uint_eq(pd->nsites, 3);
	ck_assert_ptr_eq(pd->sites[1].session, b17);
	ck_assert_uint_eq(indexed(), 1);
}
END_TEST

static void
put_file(const char *file, const char *text)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path(file), "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Sites provisioned as files in "sites_dir" reload as inline ones do: a
 * site moved from "sites" into a file is the same site (its session goes
 * on), a file added is a site added, a file removed a site removed, and
 * a broken file refuses the whole reload, naming itself, with every site
 * and session as they were.
 */
START_TEST(reload_sites_dir)
{
	static const char two_sites[] =
	    "{\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
	    " \"lan\": [\"10.17.0.0/16\", \"2001:db8:17::/48\"]},"
	    "{\"name\": \"hq\", \"identity\": \"hq.example.net\","
	    " \"lan\": [\"10.18.1.0/24\", \"192.168.0.0/16\"]}";
	struct config_errors errs = {0};
	struct ctl_hello     h;
	struct session      *b17;
	char                 want[PATH_MAX + 64];

	hello(&h, 0);
	pd->sites[1].session = b17 = session(&h, 0x6001);
	session_index_swap(pd, NULL, b17);
	ck_assert(mkdir(path("sites.d"), 0755) == 0 || errno == EEXIST);
	put_file("sites.d/branch-1.json",
	    "{\"name\": \"branch-1\", \"identity\": \"b1.example.net\","
	    " \"lan\": [\"10.1.0.0/16\"]}\n");
	write_conf_more(
	    "198.18.0.1", pki, two_sites, ", \"sites_dir\": \"sites.d\"");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(pd->nsites, 3);
	ck_assert_str_eq(pd->sites[2].conf->name, "branch-1");
	ck_assert_ptr_eq(pd->sites[0].session, b17);
	ck_assert_str_eq(site_of("10.1.2.3"), "branch-1");

	put_file("sites.d/branch-20.json",
	    "{\"name\": \"branch-20\", \"identity\": \"b20.example.net\","
	    " \"lan\": [\"10.20.0.0/16\"]}\n");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(pd->nsites, 4);
	ck_assert_str_eq(site_of("10.20.1.1"), "branch-20");

	put_file("sites.d/branch-21.json",
	    "{\"name\": \"branch-21\",\n \"identity\": \"b21\"\n"
	    " \"lan\": [\"10.21.0.0/16\"]}\n");
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s:3:6: (syntax): '}' expected near '\"lan\"'",
	    path("sites.d/branch-21.json"));
	ck_assert_str_eq(errs.lines[0], want);
	config_errors_clear(&errs);
	ck_assert_uint_eq(pd->nsites, 4);
	ck_assert_ptr_eq(pd->sites[0].session, b17);

	ck_assert_int_eq(unlink(path("sites.d/branch-21.json")), 0);
	ck_assert_int_eq(unlink(path("sites.d/branch-20.json")), 0);
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(pd->nsites, 3);
	ck_assert_str_eq(site_of("10.20.1.1"), "(none)");
	ck_assert_ptr_eq(pd->sites[0].session, b17);
	ck_assert_uint_eq(indexed(), 1);
	ck_assert_int_eq(unlink(path("sites.d/branch-1.json")), 0);
}
END_TEST

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

/* ms from now until ev's timeout. */
static long
ms_until(const struct event *ev)
{
	struct timeval when, now;

	ck_assert_int_ne(event_pending(ev, EV_TIMEOUT, &when), 0);
	gettimeofday(&now, NULL);
	return (when.tv_sec - now.tv_sec) * 1000 +
	    (when.tv_usec - now.tv_usec) / 1000;
}

/*
 * A new probe.interval_ms re-arms the health ticks at a tenth of it, as
 * dataplane_start() arms them: a whole interval would add up to one
 * interval to every failover after the reload.
 */
START_TEST(reload_probe_interval)
{
	struct config_errors errs = {0};
	struct timeval       tv;
	long                 ms;

	pd->health_ev = event_new(base, -1, EV_PERSIST, tick, NULL);
	ck_assert_ptr_nonnull(pd->health_ev);
	ck_assert_int_eq(event_add(pd->health_ev, health_period(pd, &tv)), 0);
	ck_assert_int_lt(ms_until(pd->health_ev), 50); /* 100 ms / 10 */

	write_conf_more("198.18.0.1", pki, three_sites,
	    ", \"probe\": {\"interval_ms\": 1000}");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ms = ms_until(pd->health_ev);
	/* 100 ms, with room for libevent's monotonic-to-wall conversion and a
	 * loaded machine; the whole interval would be 1000 */
	ck_assert_msg(ms > 50 && ms < 500, "next tick in %ld ms", ms);
}
END_TEST

/* ------------------------------------------------------------ cluster link */

/*
 * The cluster link's receiving side (popd/forward.c) on loopback: this
 * popd is node 1 at 127.0.0.1, the test seals as node 2 with the
 * cluster key and hands the datagrams to the socket's read callback.
 * No event loop runs (the sync tick would need corosync).
 */
static int                 link_fd;
static event_callback_fn   link_cb;
static void               *link_arg;
static struct clusterlink *peer2;

static int
find_link_ev(const struct event_base *b, const struct event *ev, void *arg)
{
	struct sockaddr_in sin;
	socklen_t          len = sizeof(sin);
	evutil_socket_t    fd = event_get_fd(ev);

	(void)b;
	(void)arg;
	if ((event_get_events(ev) & (EV_READ | EV_SIGNAL)) != EV_READ ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    sin.sin_family != AF_INET || ntohs(sin.sin_port) != cl_port)
		return 0;
	link_fd = fd;
	link_cb = event_get_callback(ev);
	link_arg = event_get_callback_arg(ev);
	return 1;
}

static void
setup_cluster_link(void)
{
	struct sockaddr_in sin;
	socklen_t          len = sizeof(sin);
	char               err[256];
	int                fd;

	/* A port free now: the kernel's pick, released. */
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	cl_net = "127.0.0.";
	cl_port = ntohs(sin.sin_port);
	setup_cluster();
	cl_net = "198.18.50.";
	ck_assert_msg(
	    (pd->fwd = fwd_start(pd, err, sizeof(err))) != NULL, "%s", err);
	link_cb = NULL;
	ck_assert_int_eq(event_base_foreach_event(base, find_link_ev, NULL), 1);
	ck_assert_ptr_nonnull(link_cb);
	fwd_member(pd->fwd, 1, 1, 0);
	fwd_member(pd->fwd, 2, 1, 0x2222);
	/* Node 2's process, incarnation 0x2222; node 1 here has no
	 * membership (pd->cluster NULL), so its incarnation is 0. */
	ck_assert_ptr_nonnull(
	    peer2 = clusterlink_new(&ckey, 2, 0x2222, 1, CLUSTERLINK_LIMIT));
	ck_assert_int_eq(clusterlink_peer_add(peer2, 1, 0), 0);
}

static void
teardown_cluster_link(void)
{
	clusterlink_free(peer2);
	teardown_cluster(); /* popd_ops.stop: fwd_stop() */
	cl_port = 0;
}

/* Node 2 seals inner as h says to node 1, and node 1 reads it. */
static void
link_deliver(struct cw_hdr *h, const uint8_t *inner, size_t len)
{
	struct sockaddr_in to;
	uint8_t            dg[CW_MAX_PKT];
	int                n, fd;

	ck_assert_int_gt(
	    n = clusterlink_seal(peer2, h, inner, len, dg, sizeof(dg)), 0);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)cl_port);
	ck_assert_int_eq(
	    sendto(fd, dg, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)),
	    n);
	close(fd);
	link_cb(link_fd, EV_READ, link_arg);
}

/* A 28-byte UDP packet from a site's LAN to the Internet. */
static void
udp4(uint8_t p[28])
{
	static const uint8_t hdr[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0,
	    0, 10, 17, 0, 5, 203, 0, 113, 7, 0x03, 0xe8, 0, 53, 0, 8, 0, 0};

	memcpy(p, hdr, sizeof(hdr));
}

static uint64_t
fwd_counter(const char *obj, const char *name)
{
	json_t  *j = fwd_json(pd->fwd), *o;
	uint64_t v;

	ck_assert_ptr_nonnull(j);
	o = obj != NULL ? json_object_get(j, obj) : j;
	ck_assert_ptr_nonnull(o = json_object_get(o, name));
	v = (uint64_t)json_integer_value(o);
	json_decref(j);
	return v;
}

/*
 * An OWNER_HINT's owner is 32 bits a peer chose.  Only a live member's
 * id goes into the ownership table: one past the node ids (or a
 * configured member not live) is dropped and counted, and the flow's
 * next packet is decided as if no hint came (an id past the table once
 * indexed live[] out of bounds there).  A live member's hint is taken.
 */
START_TEST(cluster_hint_owner_bounds)
{
	static const uint32_t bad[] = {
	    3, CONFIG_CLUSTER_NODE_MAX + 1, UINT32_C(0x7fffffff), UINT32_MAX};
	struct fwd_verdict v;
	struct cw_hdr      h;
	uint8_t            ip[28];
	size_t             i;

	udp4(ip);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&h, 0, sizeof(h));
		h.type = CW_OWNER_HINT;
		h.hops = 1;
		h.origin = CW_ORIGIN_TUN;
		h.to = 1;
		h.owner = bad[i];
		link_deliver(&h, ip, sizeof(ip));
	}
	ck_assert_uint_eq(fwd_counter(NULL, "opened"), 4);
	ck_assert_uint_eq(fwd_counter(NULL, "hints_received"), 0);
	ck_assert_uint_eq(fwd_counter("drops", "no_member"), 4);
	ck_assert_uint_eq(fwd_counter(NULL, "backups_held"), 0);
	fwd_down(&pd->w[0], ip, sizeof(ip), NULL, &v);
	ck_assert_int_eq(v.keyed, 1);

	/* Node 2 names itself for another flow: its packets go there. */
	ip[21] = 0xe9;
	memset(&h, 0, sizeof(h));
	h.type = CW_OWNER_HINT;
	h.hops = 1;
	h.origin = CW_ORIGIN_TUN;
	h.to = 1;
	h.owner = 2;
	link_deliver(&h, ip, sizeof(ip));
	ck_assert_uint_eq(fwd_counter(NULL, "hints_received"), 1);
	fwd_down(&pd->w[0], ip, sizeof(ip), NULL, &v);
	ck_assert_int_eq(v.act, CFLOW_FORWARD);
	ck_assert_uint_eq(v.to, 2);
}
END_TEST

static Suite *
popd_suite(void)
{
	Suite *s = suite_create("popd");
	TCase *tc = tcase_create("logic");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, site_by_lan_prefix);
	tcase_add_test(tc, site_by_identity);
	tcase_add_test(tc, site_by_identity_many);
	tcase_add_test(tc, session_sized_by_its_links);
	tcase_add_test(tc, health_walk_in_chunks);
	tcase_add_test(tc, health_walk_heard_after_now);
	tcase_add_test(tc, health_walk_all_silent_waits);
	tcase_add_test(tc, newer_connection_replaces);
	tcase_add_test(tc, link_down_moves_flows);
	tcase_add_test(tc, cluster_worker_bytes);
	tcase_add_test(tc, link_state_sla_verdicts);
	tcase_add_test(tc, link_down_notice);
	tcase_add_test(tc, probes_do_not_overrule_the_socket);
	tcase_add_test(tc, flood_fills_its_own_cap);
	tcase_add_test(tc, hello_reuses_the_sites_table);
	tcase_add_test(tc, all_links_down_then_one_back);
	tcase_add_test(tc, new_hello_takes_over);
	tcase_add_test(tc, new_hello_without_a_link);
	tcase_add_test(tc, ctl_flows_streamed);
	suite_add_tcase(s, tc);

	tc = tcase_create("cluster");
	tcase_add_checked_fixture(tc, setup_cluster, teardown_cluster);
	tcase_add_test(tc, cluster_backup_session);
	tcase_add_test(tc, cluster_own_session);
	tcase_add_test(tc, cluster_restarted_member);
	tcase_add_test(tc, cluster_grant_not_withdrawn);
	tcase_add_test(tc, cluster_slots_run_out);
	tcase_add_test(tc, cluster_link_states);
	suite_add_tcase(s, tc);

	tc = tcase_create("cluster_link");
	tcase_add_checked_fixture(
	    tc, setup_cluster_link, teardown_cluster_link);
	tcase_add_test(tc, cluster_hint_owner_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_add_unchecked_fixture(tc, make_pki, remove_pki);
	tcase_add_checked_fixture(tc, setup_file, teardown);
	tcase_add_test(tc, reload_sites);
	tcase_add_test(tc, ctl_sites_across_reload);
	tcase_add_test(tc, reload_refused);
	tcase_add_test(tc, reload_sites_dir);
	tcase_add_test(tc, reload_probe_interval);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_pki("check_popd", popd_suite);
}
