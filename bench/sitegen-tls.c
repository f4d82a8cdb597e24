/*
 * bench/sitegen: the sites' certificates (made here, signed by the bench's
 * CA), their session index, and their TLS control channels to popd:
 * HELLO, WELCOME, BYE, and connecting up to the stage's target.
 */
#include "autoconf.h"

#include "sitegen.h"

/* ------------------------------------------------------------ PKI */

static void
ossl_die(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	die("%s: %s", what, buf);
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int             rc;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return rc == 1 ? 0 : -1;
}

/* A client certificate for s, signed by the CA: what mkcerts' leaves
 * carry, as a Socket's certificate would. */
static void
site_cert(struct site *s, X509 *ca, EVP_PKEY *cakey)
{
	X509V3_CTX ctx;
	X509      *x;
	char       san[48];
	uint64_t   serial;

	if ((s->key = EVP_EC_gen("P-256")) == NULL)
		ossl_die("P-256 key");
	if ((x = X509_new()) == NULL)
		ossl_die("certificate");
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		ossl_die("serial");
	serial >>= 1; /* positive */
	snprintf(san, sizeof(san), "DNS:%s", s->identity);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, s->key) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		MBSTRING_ASC, (const unsigned char *)s->identity, -1, -1,
		0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") ||
	    add_ext(x, &ctx, NID_subject_alt_name, san) ||
	    X509_sign(x, cakey, EVP_sha256()) == 0)
		ossl_die(s->identity);
	s->cert = x;
}

double
make_certs(void)
{
	EVP_PKEY *cakey;
	X509     *ca;
	FILE     *f;
	uint64_t  t0 = now_us();
	unsigned  i;

	if ((f = fopen(g.ca, "r")) == NULL)
		die("%s: %s", g.ca, strerror(errno));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if ((f = fopen(g.ca_key, "r")) == NULL)
		die("%s: %s", g.ca_key, strerror(errno));
	cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca == NULL || cakey == NULL)
		ossl_die("the CA's certificate or key");
	for (i = 0; i < g.nsites; i++)
		site_cert(&g.sites[i], ca, cakey);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return (double)(now_us() - t0) / 1e6;
}

/* ------------------------------------------------------------ sessions */

static uint32_t
slot_of(uint32_t id)
{
	return (id * UINT32_C(2654435761)) & g.smask;
}

struct site *
site_by_session(uint32_t id)
{
	uint32_t i;

	for (i = slot_of(id); g.by_session[i] != NULL; i = (i + 1) & g.smask)
		if (g.by_session[i]->session == id)
			return g.by_session[i];
	return NULL;
}

static void
session_insert(struct site *s)
{
	uint32_t i;

	for (i = slot_of(s->session); g.by_session[i] != NULL;
	     i = (i + 1) & g.smask)
		;
	g.by_session[i] = s;
}

static int
site_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	struct site *s = arg;

	if (s->bev == NULL)
		return -1;
	return tls_data_key(bufferevent_openssl_get_ssl(s->bev), s->session,
	    epoch, worker, up, key);
}

/* What the data path asked of the control side: only keys, here. */
void
drain_evq(void)
{
	struct tunnel_ev ev;
	struct site     *s;

	while (tunnel_evq_pop(&g.evq, &ev))
		if (ev.kind == TUNNEL_EV_NEED_KEY &&
		    (s = site_by_session(ev.session)) != NULL && !s->stream)
			(void)tunnel_refill(s->tun);
}

void
site_fail(struct site *s, const char *fmt, ...)
{
	va_list ap;

	if (s->state == S_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (s->state == S_CONNECTING)
		g.nconnecting--;
	if (s->state == S_UP) {
		g.nup--;
		g.failed_up++;
	}
	g.nfailed++;
	s->state = S_FAILED;
	/* The tunnel stays (its session id stays in the index) but can
	 * derive nothing more: bev is gone. */
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (g.nfailed <= 5)
		note("%s: %s", s->name, s->why);
}

void
send_frame(struct site *s, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	bufferevent_write(s->bev, frame, len);
	free(frame);
}

void
send_probe(struct site *s, uint64_t now)
{
	struct probe pr = {s->probe_seq++, now * 1000};
	uint8_t      p[PROBE_LEN];

	(void)probe_encode(&pr, p, sizeof(p));
	(void)tunnel_seal_udp(s->tun, &g.evq, &g.drops, g.data_io[s->sock],
	    WIRE_PROBE, 0, p, sizeof(p), (struct sockaddr *)&g.pop_data,
	    g.pop_data_len);
}

static void
on_welcome(struct site *s, const struct ctl_welcome *w)
{
	uint64_t now = now_ms();

	if (w->version != PROTOCOL_VERSION) {
		site_fail(s, "WELCOME of protocol version %u", w->version);
		return;
	}
	if (g.pop_data_len == 0) {
		g.pop_data_len =
		    addr_to_sockaddr(&g.pop_addr, w->data_port, &g.pop_data);
		g.probe_ms = w->probe_interval_ms;
	}
	s->session = w->session;
	if ((s->tun = tunnel_new(w->session, 1, 0, w->workers, site_derive, s,
		 KEYRING_LIMIT, KEYRING_HARD_LIMIT)) == NULL) {
		site_fail(s, "cannot derive the data-plane keys");
		return;
	}
	session_insert(s);
	s->hs_us = now_us() - s->t_start_us;
	s->rt_up_us = now_rt_us();
	s->state = S_UP;
	g.nconnecting--;
	g.nup++;
	/* At once, as socketd does: popd learns the link's endpoint (a
	 * stream site's from the stream thread's socket, later). */
	if (!s->stream) {
		send_probe(s, now);
		(void)udpio_send(g.data_io[s->sock]);
	}
	s->next_probe_ms = now + g.probe_ms;
	s->next_ka_ms = now + KEEPALIVE_MS;
	connect_more();
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct site     *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_frame f;
	struct ctl_msg   m;
	char             err[CTL_ERRLEN];
	uint8_t         *p;
	size_t           len, need;
	int              rc;

	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		p = evbuffer_pullup(in, CTL_HDR_LEN);
		need = ctlmsg_frame_need(p);
		if ((rc = ctlmsg_frame(p, CTL_HDR_LEN, &f)) < 0) {
			site_fail(s, "bad frame from popd (%d)", rc);
			return;
		}
		if (len < need)
			return;
		p = evbuffer_pullup(in, (ssize_t)need);
		if (ctlmsg_frame(p, need, &f) != CTL_OK ||
		    ctlmsg_decode(&f, &m, err, sizeof(err)) != CTL_OK) {
			site_fail(s, "undecodable frame from popd: %s", err);
			return;
		}
		evbuffer_drain(in, need);
		switch (m.type) {
		case CTL_WELCOME:
			if (s->state == S_CONNECTING)
				on_welcome(s, &m.u.welcome);
			break;
		case CTL_BYE:
			site_fail(s, "popd said BYE: %s", m.u.bye.reason);
			break;
		default: /* KEEPALIVE answers, REKEY notices */
			break;
		}
		ctlmsg_msg_free(&m);
		if (s->state == S_FAILED)
			return;
	}
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	struct site     *s = arg;
	struct ctl_hello h;
	uint8_t         *frame = NULL;
	size_t           len;
	unsigned long    e;
	char             buf[160];

	if (what & BEV_EVENT_CONNECTED) {
		if (!tls_peer_matches(
			bufferevent_openssl_get_ssl(bev), g.pop_identity)) {
			site_fail(
			    s, "popd's certificate is not %s", g.pop_identity);
			return;
		}
		memset(&h, 0, sizeof(h));
		h.version = PROTOCOL_VERSION;
		h.workers = 1;
		snprintf(h.site, sizeof(h.site), "%s", s->name);
		h.nlinks = 1;
		snprintf(h.links[0].name, sizeof(h.links[0].name), "WAN1");
		h.links[0].id = 0;
		h.links[0].up_mbps = 1000;
		h.links[0].down_mbps = 1000;
		h.nlan = 1;
		h.lan[0].addr.family = AF_INET;
		memcpy(h.lan[0].addr.a, s->lan, 4);
		h.lan[0].len = 24;
		if (ctlmsg_encode_hello(&h, &frame, &len) == -1) {
			site_fail(s, "cannot encode HELLO");
			return;
		}
		send_frame(s, frame, len);
		return;
	}
	if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
	} else if (what & BEV_EVENT_EOF)
		snprintf(buf, sizeof(buf), "popd closed the connection");
	else
		snprintf(
		    buf, sizeof(buf), "%s", strerror(EVUTIL_SOCKET_ERROR()));
	site_fail(s, "control channel: %s", buf);
}

static void
site_connect(struct site *s)
{
	SSL *ssl;

	s->state = S_CONNECTING;
	g.nconnecting++;
	s->t_start_us = now_us();
	s->rt_start_us = now_rt_us();
	if ((ssl = SSL_new(g.ctx)) == NULL ||
	    SSL_use_certificate(ssl, s->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, s->key) != 1) {
		SSL_free(ssl);
		site_fail(s, "cannot set up TLS");
		return;
	}
	s->bev = bufferevent_openssl_socket_new(
	    g.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		SSL_free(ssl);
		site_fail(s, "cannot make a bufferevent");
		return;
	}
	bufferevent_setcb(s->bev, ctl_read, NULL, ctl_event, s);
	bufferevent_enable(s->bev, EV_READ);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&g.pop_ctl,
		(int)g.pop_ctl_len) == -1)
		site_fail(s, "connect: %s", strerror(errno));
}

/* Up to `concurrency` handshakes at once, up to the stage's target. */
unsigned target;

void
connect_more(void)
{
	while (g.nconnecting < g.concurrency && g.next_connect < target &&
	    g.nfailed == 0)
		site_connect(&g.sites[g.next_connect++]);
}
