/*
 * The control channel's TLS: real handshakes between the two roles over
 * a socketpair, with certificates made by tests/lab/mkcerts at run time.
 * A site with the lab CA's certificate gets in and is known by its name;
 * a foreign CA, a missing certificate or a stolen name does not; both
 * ends derive the same data keys, bound to the session id; and a
 * configuration mistake is reported with the file that caused it.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"
#include "check_pki.h"
#include "check_run.h"

static SSL_CTX *
ctx_ok(int server, const char *ca, const char *cert, const char *key)
{
	struct tls_files f = {path(ca), path(cert), path(key)};
	char             err[TLS_ERRLEN] = "";
	SSL_CTX         *ctx;

	ctx = tls_ctx_new(server, &f, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	return ctx;
}

/* A client context with the lab CA but no certificate of its own. */
static SSL_CTX *
ctx_anonymous(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ck_assert_int_eq(
	    SSL_CTX_load_verify_locations(ctx, path("ca.pem"), NULL), 1);
	return ctx;
}

struct hs {
	SSL *c, *s;
	int  cdone, sdone; /* 1 done, -1 failed, 0 still going */
	int  fd[2];
};

static int
step(SSL *ssl, int *state)
{
	int rc, e;

	if (*state != 0)
		return 0;
	if ((rc = SSL_do_handshake(ssl)) == 1) {
		*state = 1;
		return 1;
	}
	e = SSL_get_error(ssl, rc);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		*state = -1;
		return 1;
	}
	return 0;
}

/*
 * Client and server in one process over a non-blocking socketpair,
 * each driven a step at a time until neither moves any more.  A side
 * that fails sends its alert, so the other fails (or, a TLS 1.3 client
 * whose certificate is refused after its Finished, finds out on its
 * first read).
 */
static void
handshake(struct hs *h, SSL_CTX *cctx, SSL_CTX *sctx)
{
	int i, moved;

	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, h->fd), 0);
	ck_assert_int_eq(fcntl(h->fd[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(h->fd[1], F_SETFL, O_NONBLOCK), 0);
	h->c = SSL_new(cctx);
	h->s = SSL_new(sctx);
	ck_assert(h->c != NULL && h->s != NULL);
	ck_assert_int_eq(SSL_set_fd(h->c, h->fd[0]), 1);
	ck_assert_int_eq(SSL_set_fd(h->s, h->fd[1]), 1);
	SSL_set_connect_state(h->c);
	SSL_set_accept_state(h->s);
	for (i = 0; i < 64; i++) {
		moved = step(h->c, &h->cdone);
		moved |= step(h->s, &h->sdone);
		if (h->cdone != 0 && h->sdone != 0)
			break;
		/* each call also sends; a silent round means both wait */
		if (!moved && i > 8)
			break;
	}
	ERR_clear_error();
}

static void
hs_free(struct hs *h)
{
	SSL_free(h->c);
	SSL_free(h->s);
	close(h->fd[0]);
	close(h->fd[1]);
}

/*
 * 1 if the client learns that the server refused it, by the alert
 * whose OpenSSL reason contains `why` (what socketd would log).
 */
static int
client_refused(struct hs *h, const char *why)
{
	const char *r;
	char        buf[16];
	int         rc, e, ok;

	if (h->cdone == -1)
		return 1;
	rc = SSL_read(h->c, buf, sizeof(buf));
	/* before clearing: SSL_get_error() reads the error queue */
	e = SSL_get_error(h->c, rc);
	r = ERR_reason_error_string(ERR_peek_error());
	ok = rc <= 0 && e == SSL_ERROR_SSL && r != NULL &&
	    strstr(r, why) != NULL;
	if (!ok)
		fprintf(stderr, "SSL_read %d, error %d, reason %s\n", rc, e,
		    r ? r : "none");
	ERR_clear_error();
	return ok;
}

static int
add_name(const char *name, void *arg)
{
	strcat(arg, name);
	strcat(arg, ";");
	return 0;
}

static int
stop_name(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return 7;
}

START_TEST(good_pair)
{
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL_CTX  *cctx = ctx_ok(0, "ca.pem", "site.pem", "site.key");
	uint8_t   cu[AEAD_KEY_LEN], cd[AEAD_KEY_LEN];
	uint8_t   su[AEAD_KEY_LEN], sd[AEAD_KEY_LEN];
	uint8_t   ou[AEAD_KEY_LEN], od[AEAD_KEY_LEN];
	uint8_t   wu[AEAD_KEY_LEN], wd[AEAD_KEY_LEN];
	char      id[TLS_ERRLEN], names[128];
	struct hs h;

	handshake(&h, cctx, sctx);
	ck_assert_int_eq(h.cdone, 1);
	ck_assert_int_eq(h.sdone, 1);
	ck_assert_int_eq(SSL_version(h.c), TLS1_3_VERSION);
	ck_assert_int_eq(SSL_version(h.s), TLS1_3_VERSION);
	/* an idle connection holds no record buffers: a PoP has one per
	 * site */
	ck_assert(SSL_get_mode(h.s) & SSL_MODE_RELEASE_BUFFERS);
	ck_assert(SSL_get_mode(h.c) & SSL_MODE_RELEASE_BUFFERS);

	/* the PoP knows the site, the site knows the PoP */
	ck_assert_int_eq(tls_peer_identity(h.s, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "branch-17.lab");
	ck_assert_int_eq(tls_peer_identity(h.c, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "pop.lab");
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-17.lab"), 1);
	ck_assert_int_eq(tls_peer_matches(h.s, "Branch-17.LAB"), 1);
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-18.lab"), 0);
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-17.lab."), 0);
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-17"), 0);
	ck_assert_int_eq(tls_peer_matches(h.s, "*.lab"), 0);
	ck_assert_int_eq(tls_peer_matches(h.s, ""), 0);
	ck_assert_int_eq(tls_peer_matches(h.c, "pop.lab"), 1);
	/* the names an index would be asked for, as the certificate has
	 * them; fn's non-zero stops the walk and is returned */
	names[0] = '\0';
	ck_assert_int_eq(tls_peer_each_name(h.s, add_name, names), 0);
	ck_assert_str_eq(names, "branch-17.lab;");
	ck_assert_int_eq(tls_peer_each_name(h.s, stop_name, NULL), 7);
	ck_assert_int_eq(tls_peer_each_name(h.c, add_name, names), 0);
	ck_assert_str_eq(names, "branch-17.lab;pop.lab;");
	/* a name that does not fit is no name, not a shorter one */
	ck_assert_int_eq(tls_peer_identity(h.s, id, 13), -1);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(tls_peer_identity(h.s, id, 14), 0);

	/* the same keys on both ends, one per direction */
	ck_assert_int_eq(tls_data_keys(h.c, 0x11, 0, 0, cu, cd), 0);
	ck_assert_int_eq(tls_data_keys(h.s, 0x11, 0, 0, su, sd), 0);
	ck_assert(memcmp(cu, su, sizeof(cu)) == 0);
	ck_assert(memcmp(cd, sd, sizeof(cd)) == 0);
	ck_assert(memcmp(cu, cd, sizeof(cu)) != 0);
	/* another session id, other keys */
	ck_assert_int_eq(tls_data_keys(h.s, 0x11000000, 0, 0, ou, od), 0);
	ck_assert(memcmp(ou, su, sizeof(ou)) != 0);
	ck_assert(memcmp(od, sd, sizeof(od)) != 0);
	ck_assert_int_eq(tls_data_keys(h.c, 0x12, 0, 0, ou, od), 0);
	ck_assert(memcmp(ou, su, sizeof(ou)) != 0);
	/* the next key epoch: other keys, the same on both ends */
	ck_assert_int_eq(tls_data_keys(h.c, 0x11, 1, 0, ou, od), 0);
	ck_assert(memcmp(ou, su, sizeof(ou)) != 0);
	ck_assert(memcmp(od, sd, sizeof(od)) != 0);
	ck_assert_int_eq(tls_data_keys(h.s, 0x11, 1, 0, cu, cd), 0);
	ck_assert(memcmp(ou, cu, sizeof(ou)) == 0);
	ck_assert(memcmp(od, cd, sizeof(od)) == 0);
	/* one direction alone: up on the Socket is up on the PoP */
	ck_assert_int_eq(tls_data_key(h.s, 0x11, 1, 0, 1, ou), 0);
	ck_assert(memcmp(ou, cu, sizeof(ou)) == 0);
	ck_assert_int_eq(tls_data_key(h.c, 0x11, 1, 0, 0, od), 0);
	ck_assert(memcmp(od, cd, sizeof(od)) == 0);
	/* another worker: other keys, the same on both ends (their
	 * counters never meet: wire.h) */
	ck_assert_int_eq(tls_data_keys(h.c, 0x11, 1, 1, ou, od), 0);
	ck_assert(memcmp(ou, cu, sizeof(ou)) != 0);
	ck_assert(memcmp(od, cd, sizeof(od)) != 0);
	ck_assert_int_eq(tls_data_keys(h.s, 0x11, 1, 1, wu, wd), 0);
	ck_assert(memcmp(ou, wu, sizeof(ou)) == 0);
	ck_assert(memcmp(od, wd, sizeof(od)) == 0);
	ck_assert_int_eq(tls_data_keys(h.s, 0x11, 1, 63, wu, wd), 0);
	ck_assert(memcmp(ou, wu, sizeof(ou)) != 0);
	hs_free(&h);

	/* another TLS session with the same id: other keys again */
	handshake(&h, cctx, sctx);
	ck_assert(h.cdone == 1 && h.sdone == 1);
	ck_assert_int_eq(tls_data_keys(h.s, 0x11, 0, 0, ou, od), 0);
	ck_assert(memcmp(ou, su, sizeof(ou)) != 0);
	ck_assert(memcmp(od, sd, sizeof(od)) != 0);
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(before_handshake)
{
	SSL_CTX *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL     *ssl = SSL_new(sctx);
	uint8_t  up[AEAD_KEY_LEN], down[AEAD_KEY_LEN];
	char     id[64] = "x";

	ck_assert_int_eq(tls_peer_identity(ssl, id, sizeof(id)), -1);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(tls_peer_matches(ssl, "branch-17.lab"), 0);
	ck_assert_int_eq(tls_data_keys(ssl, 1, 0, 0, up, down), -1);
	ck_assert_int_eq(tls_data_key(ssl, 1, 0, 0, 1, up), -1);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_free(ssl);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(unknown_site)
{
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL_CTX  *cctx = ctx_ok(0, "ca.pem", "unknown.pem", "unknown.key");
	char      id[64];
	struct hs h;

	/* the CA vouches for it: TLS lets it in, the name keeps it out */
	handshake(&h, cctx, sctx);
	ck_assert(h.cdone == 1 && h.sdone == 1);
	ck_assert_int_eq(tls_peer_identity(h.s, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "stranger.lab");
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-17.lab"), 0);
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(client_from_other_ca)
{
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL_CTX  *cctx = ctx_ok(0, "ca.pem", "rogue.pem", "rogue.key");
	char      id[64];
	struct hs h;

	/* the right name, from a CA the PoP does not trust */
	handshake(&h, cctx, sctx);
	ck_assert_int_eq(h.sdone, -1);
	ck_assert_int_ne(SSL_get_verify_result(h.s), X509_V_OK);
	ck_assert_int_eq(tls_peer_identity(h.s, id, sizeof(id)), -1);
	ck_assert_int_eq(tls_peer_matches(h.s, "branch-17.lab"), 0);
	ck_assert(client_refused(&h, "unknown ca"));
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(client_without_cert)
{
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL_CTX  *cctx = ctx_anonymous();
	struct hs h;

	handshake(&h, cctx, sctx);
	ck_assert_int_eq(h.sdone, -1);
	ck_assert_ptr_null(SSL_get0_peer_certificate(h.s));
	ck_assert(client_refused(&h, "certificate required"));
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

START_TEST(server_from_other_ca)
{
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "rogue.pem", "rogue.key");
	SSL_CTX  *cctx = ctx_ok(0, "ca.pem", "site.pem", "site.key");
	struct hs h;

	handshake(&h, cctx, sctx);
	ck_assert_int_eq(h.cdone, -1);
	ck_assert_int_eq(SSL_get_verify_result(h.c),
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	ck_assert_int_ne(h.sdone, 1);
	ck_assert_int_eq(tls_peer_matches(h.c, "branch-17.lab"), 0);
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}
END_TEST

/*
 * A leaf signed by the lab CA with names mkcerts cannot write: CN
 * `cn`, and DNS subjectAltNames given with their lengths, so one may
 * hold a NUL, plus an iPAddress subjectAltName (192.0.2.1) if `ip`.
 * Written to NAME.pem / NAME.key in the PKI directory.
 */
static void
make_leaf(const char *name, const char *cn, const char *const *dns,
    const int *dnslen, int ndns, int ip)
{
	static const unsigned char addr[4] = {192, 0, 2, 1};
	ASN1_OCTET_STRING         *os;
	char                       fn[PATH_MAX];
	FILE                      *f;
	X509                      *ca, *x;
	EVP_PKEY                  *cakey, *key;
	GENERAL_NAMES             *gens;
	GENERAL_NAME              *gn;
	ASN1_IA5STRING            *ia5;
	int                        i;

	ck_assert_ptr_nonnull(f = fopen(path("ca.pem"), "r"));
	ck_assert_ptr_nonnull(ca = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(path("ca.key"), "r"));
	ck_assert_ptr_nonnull(cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	ck_assert_ptr_nonnull(key = EVP_EC_gen("P-256"));

	ck_assert_ptr_nonnull(x = X509_new());
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	ck_assert_int_eq(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
	ck_assert_int_eq(
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName,
		MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0),
	    1);
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	if (ndns > 0 || ip) {
		ck_assert_ptr_nonnull(gens = GENERAL_NAMES_new());
		for (i = 0; i < ndns; i++) {
			ck_assert_ptr_nonnull(gn = GENERAL_NAME_new());
			ck_assert_ptr_nonnull(ia5 = ASN1_IA5STRING_new());
			ck_assert_int_eq(
			    ASN1_STRING_set(ia5, dns[i], dnslen[i]), 1);
			GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
			ck_assert_int_gt(sk_GENERAL_NAME_push(gens, gn), 0);
		}
		if (ip) {
			ck_assert_ptr_nonnull(gn = GENERAL_NAME_new());
			ck_assert_ptr_nonnull(os = ASN1_OCTET_STRING_new());
			ck_assert_int_eq(
			    ASN1_OCTET_STRING_set(os, addr, sizeof(addr)), 1);
			GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
			ck_assert_int_gt(sk_GENERAL_NAME_push(gens, gn), 0);
		}
		ck_assert_int_eq(
		    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
		GENERAL_NAMES_free(gens);
	}
	ck_assert_int_gt(X509_sign(x, cakey, EVP_sha256()), 0);

	(void)snprintf(fn, sizeof(fn), "%s/%s.pem", pki, name);
	ck_assert_ptr_nonnull(f = fopen(fn, "w"));
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	(void)snprintf(fn, sizeof(fn), "%s/%s.key", pki, name);
	ck_assert_ptr_nonnull(f = fopen(fn, "w"));
	ck_assert_int_eq(
	    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

/*
 * Whether the PoP matches a client with certificate NAME to `match`;
 * the identity it sees goes to id ("" if none).
 */
static int
identity_of(const char *name, char *id, size_t idlen, const char *match)
{
	char      pem[64], key[64];
	SSL_CTX  *sctx = ctx_ok(1, "ca.pem", "pop.pem", "pop.key");
	SSL_CTX  *cctx;
	struct hs h;
	int       rc, m;

	(void)snprintf(pem, sizeof(pem), "%s.pem", name);
	(void)snprintf(key, sizeof(key), "%s.key", name);
	cctx = ctx_ok(0, "ca.pem", pem, key);
	handshake(&h, cctx, sctx);
	ck_assert(h.cdone == 1 && h.sdone == 1);
	rc = tls_peer_identity(h.s, id, idlen);
	m = tls_peer_matches(h.s, match);
	hs_free(&h);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	ck_assert(rc == 0 || *id == '\0');
	return m;
}

START_TEST(names)
{
	static const char nul[] = "branch-17.lab\0.evil.example";
	const char *const dns[] = {nul, "branch-19.lab", "Branch-20.lab"};
	const int         len[] = {(int)sizeof(nul) - 1, 13, 13};
	char              id[64];

	/* no subjectAltName: the CN */
	make_leaf("cn-only", "cn-only.lab", NULL, NULL, 0, 0);
	ck_assert_int_eq(
	    identity_of("cn-only", id, sizeof(id), "CN-only.lab"), 1);
	ck_assert_str_eq(id, "cn-only.lab");

	/* subjectAltNames but none of type DNS: still the CN */
	make_leaf("ip-only", "ip-only.lab", NULL, NULL, 0, 1);
	ck_assert_int_eq(
	    identity_of("ip-only", id, sizeof(id), "ip-only.lab"), 1);
	ck_assert_str_eq(id, "ip-only.lab");

	/*
	 * A DNS name with a NUL is skipped, never read as its prefix; the
	 * certificate still has a DNS name, so its CN is no identity
	 * (RFC 6125 section 6.4.4): no name at all.
	 */
	make_leaf("nul", "cn.lab", dns, len, 1, 0);
	ck_assert_int_eq(
	    identity_of("nul", id, sizeof(id), "branch-17.lab"), 0);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(identity_of("nul", id, sizeof(id), "cn.lab"), 0);

	/* the first usable DNS name; any of them matches, the CN does not */
	make_leaf("multi", "cn.lab", dns, len, 3, 1);
	ck_assert_int_eq(
	    identity_of("multi", id, sizeof(id), "branch-20.lab"), 1);
	ck_assert_str_eq(id, "branch-19.lab");
	ck_assert_int_eq(identity_of("multi", id, sizeof(id), "cn.lab"), 0);
	ck_assert_int_eq(
	    identity_of("multi", id, sizeof(id), "branch-17.lab"), 0);
}
END_TEST

/* tls_ctx_new must fail, naming `file` in its message. */
static void
ctx_fails(int server, const char *ca, const char *cert, const char *key,
    const char *file, const char *what)
{
	struct tls_files f = {ca, cert, key};
	char             err[TLS_ERRLEN] = "";

	ck_assert_ptr_null(tls_ctx_new(server, &f, err, sizeof(err)));
	ck_assert_msg(
	    strstr(err, file) != NULL, "\"%s\" does not name %s", err, file);
	ck_assert_msg(
	    strstr(err, what) != NULL, "\"%s\" does not say %s", err, what);
	ck_assert_msg(strncmp(err, "tls: ", 5) == 0, "%s", err);
	/* nothing left for the next caller to misattribute */
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

START_TEST(bad_files)
{
	char  ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], other[PATH_MAX];
	char  missing[PATH_MAX], junk[PATH_MAX];
	FILE *f;
	int   server;

	(void)snprintf(missing, sizeof(missing), "%s/missing.pem", pki);
	(void)snprintf(junk, sizeof(junk), "%s/junk.pem", pki);
	ck_assert_ptr_nonnull(f = fopen(junk, "w"));
	fputs("this is not PEM\n", f);
	fclose(f);

	(void)snprintf(ca, sizeof(ca), "%s", path("ca.pem"));
	(void)snprintf(other, sizeof(other), "%s", path("unknown.key"));
	for (server = 0; server < 2; server++) {
		(void)snprintf(cert, sizeof(cert), "%s",
		    path(server ? "pop.pem" : "site.pem"));
		(void)snprintf(key, sizeof(key), "%s",
		    path(server ? "pop.key" : "site.key"));

		ctx_fails(server, missing, cert, key, missing,
		    "No such file or directory");
		ctx_fails(server, ca, missing, key, missing,
		    "cannot load certificate");
		ctx_fails(server, ca, cert, missing, missing,
		    "cannot load private key");
		/* a directory opens but does not read */
		ctx_fails(server, pki, cert, key, pki, "CA");
		ctx_fails(server, ca, pki, key, pki, "certificate");
		ctx_fails(server, ca, cert, pki, pki, "private key");
		ctx_fails(server, junk, cert, key, junk, "CA");
		ctx_fails(server, ca, junk, key, junk, "certificate");
		ctx_fails(server, ca, cert, junk, junk, "private key");
		/* a key that is not the certificate's */
		ctx_fails(server, ca, cert, other, other, "does not match");
		/* a private key is not a certificate */
		ctx_fails(server, ca, key, key, key, "certificate");
	}
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_add_unchecked_fixture(tc, make_pki, remove_pki);
	tcase_add_test(tc, good_pair);
	tcase_add_test(tc, before_handshake);
	tcase_add_test(tc, unknown_site);
	tcase_add_test(tc, client_from_other_ca);
	tcase_add_test(tc, client_without_cert);
	tcase_add_test(tc, server_from_other_ca);
	tcase_add_test(tc, names);
	tcase_add_test(tc, bad_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_pki("check_tls", tls_suite);
}
