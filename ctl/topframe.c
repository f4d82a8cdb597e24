/*
 * wanpairctl top's screen from two samples (topframe.h).  Rates are
 * counter rises over the time between the samples, never the daemon's
 * totals since its start.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topframe.h"

struct busy {
	const json_t *row;
	uint64_t      bytes, packets; /* over the interval */
};

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static uint64_t
cnt(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* A counter's rise, 0 where it fell (a restarted daemon counts afresh). */
static uint64_t
rise(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

static void
flow_key(const json_t *f, char key[TOP_KEY_MAX])
{
	snprintf(key, TOP_KEY_MAX,
	    "%s|%s|%s|%" JSON_INTEGER_FORMAT "|%s|%" JSON_INTEGER_FORMAT,
	    str(f, "site"), str(f, "proto"), str(f, "src"),
	    json_integer_value(json_object_get(f, "sport")), str(f, "dst"),
	    json_integer_value(json_object_get(f, "dport")));
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct top_flow_seen *)a)->key,
	    ((const struct top_flow_seen *)b)->key);
}

void
top_sample_free(struct top_sample *s)
{
	json_decref(s->status);
	json_decref(s->links);
	json_decref(s->flows);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}

int
top_sample_set(struct top_sample *s, json_t *status, json_t *links,
    json_t *flows, double t)
{
	const json_t *rows = json_object_get(flows, "flows"), *f;
	size_t        i;

	memset(s, 0, sizeof(*s));
	s->status = status;
	s->links = links;
	s->flows = flows;
	s->t = t;
	if (json_array_size(rows) > 0 &&
	    (s->seen = calloc(json_array_size(rows), sizeof(*s->seen))) ==
		NULL) {
		top_sample_free(s);
		return -1;
	}
	json_array_foreach(rows, i, f)
	{
		flow_key(f, s->seen[i].key);
		s->seen[i].bytes = cnt(f, "bytes");
		s->seen[i].packets = cnt(f, "packets");
	}
	s->nseen = json_array_size(rows);
	if (s->nseen > 0) /* seen is NULL then, which qsort() may not take */
		qsort(s->seen, s->nseen, sizeof(*s->seen), seen_cmp);
	return 0;
}

/* 2.5, 950, 12.3k, 1.23M, 34.5G: a rate per second. */
static const char *
rate(double v, char buf[16])
{
	static const char units[] = "kMGTP";
	int               u = -1;

	if (v < 1000) {
		/* A few packets a second still read as what they are. */
		snprintf(buf, 16, v > 0 && v < 10 ? "%.1f" : "%.0f", v);
		return buf;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, 16, v < 10 ? "%.2f%c" : "%.1f%c", v, units[u]);
	return buf;
}

static const char *
pct(uint64_t part, uint64_t whole, char buf[16])
{
	if (whole == 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.1f", 100.0 * (double)part / (double)whole);
	return buf;
}

/* l's row in a previous links result: at the same index when the links
 * are the same (the usual case, so a PoP's thousands cost no search),
 * else by site and name. */
static const json_t *
link_in(const json_t *links, const json_t *l, size_t at)
{
	const json_t *rows = json_object_get(links, "links"), *o;
	size_t        i;

	if ((o = json_array_get(rows, at)) != NULL &&
	    strcmp(str(o, "name"), str(l, "name")) == 0 &&
	    strcmp(str(o, "site"), str(l, "site")) == 0)
		return o;
	json_array_foreach(
	    rows, i, o) if (strcmp(str(o, "name"), str(l, "name")) == 0 &&
	    strcmp(str(o, "site"), str(l, "site")) == 0) return o;
	return NULL;
}

static void
print_header(FILE *fp, const json_t *st, double interval, int live)
{
	const json_t *c = json_object_get(st, "control");

	fprintf(fp, "%s %s", str(st, "daemon"), str(st, "version"));
	if (json_object_get(st, "site") != NULL) {
		fprintf(fp, ", site %s, control %s", str(st, "site"),
		    str(c, "state"));
		if (json_is_string(json_object_get(c, "link")))
			fprintf(fp, " over %s", str(c, "link"));
		fprintf(fp,
		    "\n%" PRIu64 " of %" PRIu64 " links up, %" PRIu64
		    " of %" PRIu64 " flows",
		    cnt(st, "links_up"), cnt(st, "links"), cnt(st, "flows"),
		    cnt(st, "flows_max"));
	} else
		fprintf(fp,
		    "\n%" PRIu64 " sites, %" PRIu64 " with a session, %" PRIu64
		    " connected, %" PRIu64 " flows",
		    cnt(st, "sites"), cnt(st, "sessions"), cnt(st, "connected"),
		    cnt(st, "flows"));
	fprintf(fp, "; every %gs%s\n", interval, live ? "; q quits" : "");
}

/*
 * The links table.  Shares are within a site (popd) or of the one site
 * (socketd): NEW% of the flows placed over the interval, TX% of the bytes
 * sent, against RATIO%, the weights of the links up (what the ratio
 * algorithm aims the new flows at).
 */
static void
print_links(FILE *fp, const struct top_sample *prev,
    const struct top_sample *cur, double dt)
{
	const json_t *rows = json_object_get(cur->links, "links"), *l, *o, *p;
	uint64_t      newf, txb, w, sum_new = 0, sum_tx = 0, sum_w = 0;
	char          a[16], b[16], c[16], d[16], e[16];
	size_t        i, j, run_end = 0;
	int           pop = json_object_get(cur->status, "site") == NULL;

	if (json_array_size(rows) == 0) {
		fprintf(fp, "no links (no site has said hello yet)\n");
		return;
	}
	if (pop)
		fprintf(fp, "%-16s ", "SITE");
	fprintf(fp, "%-8s %-5s %6s %6s %5s %8s %8s %6s %5s %5s %6s\n", "LINK",
	    "STATE", "RTT-MS", "JITTER", "LOSS", "TX-BIT/S", "RX-BIT/S",
	    "NEW/S", "NEW%", "TX%", "RATIO%");
	json_array_foreach(rows, i, l)
	{
		/* A site's links come together: the sums once per site. */
		if (i == run_end) {
			sum_new = sum_tx = sum_w = 0;
			for (j = i; (o = json_array_get(rows, j)) != NULL &&
			     strcmp(str(o, "site"), str(l, "site")) == 0;
			     j++) {
				if ((p = link_in(prev->links, o, j)) != NULL) {
					sum_new += rise(cnt(o, "new_flows"),
					    cnt(p, "new_flows"));
					sum_tx += rise(cnt(o, "tx_bytes"),
					    cnt(p, "tx_bytes"));
				}
				if (strcmp(str(o, "state"), "up") == 0)
					sum_w += cnt(o, "weight");
			}
			run_end = j;
		}
		w = strcmp(str(l, "state"), "up") == 0 ? cnt(l, "weight") : 0;
		if (pop)
			fprintf(fp, "%-16.16s ", str(l, "site"));
		fprintf(fp, "%-8s %-5s ", str(l, "name"), str(l, "state"));
		if (json_is_number(json_object_get(l, "rtt_ms")))
			fprintf(fp, "%6.2f %6.2f %4.1f%% ",
			    json_number_value(json_object_get(l, "rtt_ms")),
			    json_number_value(json_object_get(l, "jitter_ms")),
			    json_number_value(json_object_get(l, "loss")) *
				100);
		else
			fprintf(fp, "%6s %6s %5s ", "-", "-", "-");
		if ((p = link_in(prev->links, l, i)) != NULL && dt > 0) {
			newf = rise(cnt(l, "new_flows"), cnt(p, "new_flows"));
			txb = rise(cnt(l, "tx_bytes"), cnt(p, "tx_bytes"));
			fprintf(fp, "%8s %8s %6.1f %5s %5s ",
			    rate((double)txb * 8 / dt, a),
			    rate((double)rise(
				     cnt(l, "rx_bytes"), cnt(p, "rx_bytes")) *
				    8 / dt,
				b),
			    (double)newf / dt, pct(newf, sum_new, c),
			    pct(txb, sum_tx, d));
		} else
			fprintf(fp, "%8s %8s %6s %5s %5s ", "-", "-", "-", "-",
			    "-");
		fprintf(fp, "%6s\n", pct(w, sum_w, e));
	}
}

static size_t
max(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* "10.1.0.10:5201", "[2001:db8::1]:443" */
static const char *
endpoint(const json_t *f, const char *addr, const char *port, char buf[72])
{
	snprintf(buf, 72,
	    strchr(str(f, addr), ':') != NULL ? "[%s]:%" JSON_INTEGER_FORMAT
					      : "%s:%" JSON_INTEGER_FORMAT,
	    str(f, addr), json_integer_value(json_object_get(f, port)));
	return buf;
}

static int
busy_cmp(const void *a, const void *b)
{
	const struct busy *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return 0;
}

/*
 * The flows that moved the most bytes between the two samples.  A flow
 * the previous sample did not list counts whole if it is younger than the
 * interval, and not at all otherwise: the sample is at most FLOWS_SAMPLE
 * flows, and an older flow outside it has an unknown past.
 */
static void
print_flows(FILE *fp, const struct top_sample *prev,
    const struct top_sample *cur, double dt, size_t nshow)
{
	const json_t        *rows = json_object_get(cur->flows, "flows"), *f;
	struct top_flow_seen k, *was;
	struct busy         *b;
	char                 src[72], dst[72], x[16], y[16], age[24];
	size_t i, n = 0, ws = strlen("SOURCE"), wd = strlen("DESTINATION");
	int    pop = json_object_get(cur->status, "site") == NULL;

	if (nshow == 0)
		return;
	fprintf(fp, "\n");
	if (prev->flows == NULL || dt <= 0) {
		fprintf(fp, "busiest flows: after the next refresh\n");
		return;
	}
	if ((b = calloc(json_array_size(rows) + 1, sizeof(*b))) == NULL) {
		fprintf(fp, "busiest flows: out of memory\n");
		return;
	}
	json_array_foreach(rows, i, f)
	{
		flow_key(f, k.key);
		was = bsearch(&k, prev->seen, prev->nseen, sizeof(k), seen_cmp);
		b[n].row = f;
		if (was != NULL && cnt(f, "bytes") >= was->bytes) {
			b[n].bytes = cnt(f, "bytes") - was->bytes;
			b[n].packets = rise(cnt(f, "packets"), was->packets);
		} else if ((double)cnt(f, "age_s") <= ceil(dt)) {
			b[n].bytes = cnt(f, "bytes");
			b[n].packets = cnt(f, "packets");
		}
		if (b[n].bytes > 0 || b[n].packets > 0)
			n++;
	}
	qsort(b, n, sizeof(*b), busy_cmp);
	fprintf(fp,
	    "busiest flows over the last %.1fs: %zu of %zu active shown; "
	    "%zu of %" PRIu64 " flows sampled\n",
	    dt, n < nshow ? n : nshow, n, json_array_size(rows),
	    cnt(cur->flows, "total"));
	/* Columns as wide as the rows shown: IPv4 fits 80 columns. */
	for (i = 0; i < n && i < nshow; i++) {
		ws = max(ws, strlen(endpoint(b[i].row, "src", "sport", src)));
		wd = max(wd, strlen(endpoint(b[i].row, "dst", "dport", dst)));
	}
	if (pop)
		fprintf(fp, "%-16s ", "SITE");
	fprintf(fp, "%-5s %-*s %-*s %-8s %8s %7s %6s\n", "PROTO", (int)ws,
	    "SOURCE", (int)wd, "DESTINATION", "LINK", "BIT/S", "PKT/S", "AGE");
	for (i = 0; i < n && i < nshow; i++) {
		f = b[i].row;
		snprintf(age, sizeof(age), "%" PRIu64 "s", cnt(f, "age_s"));
		if (pop)
			fprintf(fp, "%-16.16s ", str(f, "site"));
		fprintf(fp, "%-5s %-*s %-*s %-8s %8s %7s %6s\n",
		    str(f, "proto"), (int)ws, endpoint(f, "src", "sport", src),
		    (int)wd, endpoint(f, "dst", "dport", dst), str(f, "link"),
		    rate((double)b[i].bytes * 8 / dt, x),
		    rate((double)b[i].packets / dt, y), age);
	}
	free(b);
}

char *
top_frame(const struct top_sample *prev, const struct top_sample *cur,
    double interval, size_t nflows, int live, size_t *lenp)
{
	double dt = prev->links != NULL ? cur->t - prev->t : 0;
	char  *buf = NULL;
	FILE  *fp;

	if ((fp = open_memstream(&buf, lenp)) == NULL)
		return NULL;
	print_header(fp, cur->status, interval, live);
	fprintf(fp, "\n");
	print_links(fp, prev, cur, dt);
	print_flows(fp, prev, cur, dt, nflows);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
