#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"
#include "reload.h"

void
reload_where_init(struct reload_where *w, const char *file)
{
	struct jsonpos_error err;
	FILE                *fp;
	char                *text;
	size_t               len;

	w->file = file;
	w->pos = NULL;
	if ((fp = fopen(file, "r")) == NULL)
		return;
	/* config_load() refused anything larger. */
	if ((text = malloc(CONFIG_MAX_BYTES + 1)) != NULL) {
		len = fread(text, 1, CONFIG_MAX_BYTES + 1, fp);
		if (!ferror(fp) && len <= CONFIG_MAX_BYTES &&
		    jsonpos_build(text, len, &w->pos, &err) == -1)
			w->pos = NULL;
		free(text);
	}
	fclose(fp);
}

void
reload_where_free(struct reload_where *w)
{
	jsonpos_free(w->pos);
	w->pos = NULL;
}

/* The deepest node of `path` the file has, and whether it is the whole
 * path. */
static int
find(const struct jsonpos *pos, const char *path, int *whole)
{
	const char *p = path;
	char        key[128];
	size_t      n;
	int         node = 0, next;
	char       *end;

	*whole = 0;
	while (*p != '\0') {
		if (*p == '[') {
			unsigned long i = strtoul(p + 1, &end, 10);

			if (*end != ']')
				return node;
			next = jsonpos_element(pos, node, (size_t)i);
			p = end + 1;
		} else {
			if (*p == '.')
				p++;
			n = strcspn(p, ".[");
			if (n >= sizeof(key))
				return node;
			memcpy(key, p, n);
			key[n] = '\0';
			next = jsonpos_member(pos, node, key);
			p += n;
		}
		if (next == JSONPOS_NONE)
			return node;
		node = next;
	}
	*whole = 1;
	return node;
}

int
reload_refuse(struct reload_where *w, struct config_errors *errs,
    const char *path, const char *fmt, ...)
{
	char     msg[512], *line, **lines;
	unsigned l = 0, c = 0;
	va_list  ap;
	int      node, whole;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->pos != NULL) {
		node = find(w->pos, path, &whole);
		/* A key points at its name, an element at its value. */
		if (whole)
			jsonpos_key_at(w->pos, node, &l, &c);
		else
			jsonpos_value_at(w->pos, node, &l, &c);
	}
	if (asprintf(&line, "%s:%u:%u: %s: %s", w->file, l, c, path, msg) == -1)
		return -1;
	if ((lines = reallocarray(errs->lines, errs->n + 1, sizeof(*lines))) ==
	    NULL) {
		free(line);
		return -1;
	}
	lines[errs->n++] = line;
	errs->lines = lines;
	return 0;
}

/*
 * The addresses and ports the sockets are bound or connected to: popd's
 * listen entries (one by one, by place) or socketd's pop addresses and
 * pop's ports.  Each change refused at its own key.
 */
static void
endpoints_fixed(const struct config *o, const struct config *n,
    const char *endpoint_key, struct reload_where *w,
    struct config_errors *errs)
{
	const struct config_endpoint *a, *b;
	char                          base[64], path[96];
	size_t                        i;
	int                           popd = n->kind == CONFIG_POPD;

	if (o->nendpoints != n->nendpoints) {
		snprintf(path, sizeof(path), "%s%s", endpoint_key,
		    popd ? "" : ".address");
		(void)reload_refuse(w, errs, path,
		    "changing it needs a restart (%zu addresses, were %zu)",
		    n->nendpoints, o->nendpoints);
		return;
	}
	for (i = 0; i < n->nendpoints; i++) {
		a = &o->endpoints[i];
		b = &n->endpoints[i];
		if (popd && n->nendpoints > 1)
			snprintf(
			    base, sizeof(base), "%s[%zu]", endpoint_key, i);
		else
			snprintf(base, sizeof(base), "%s", endpoint_key);
		if (a->address.family != b->address.family ||
		    memcmp(a->address.a, b->address.a, 16) != 0) {
			if (!popd && n->nendpoints > 1)
				snprintf(path, sizeof(path), "%s.address[%zu]",
				    base, i);
			else
				snprintf(
				    path, sizeof(path), "%s.address", base);
			(void)reload_refuse(
			    w, errs, path, "changing it needs a restart");
		}
		/* socketd's ports are pop's, in every entry alike */
		if (!popd && i > 0)
			continue;
		if (a->data_port != b->data_port) {
			snprintf(path, sizeof(path), "%s.data_port", base);
			(void)reload_refuse(
			    w, errs, path, "changing it needs a restart");
		}
		if (a->control_port != b->control_port) {
			snprintf(path, sizeof(path), "%s.control_port", base);
			(void)reload_refuse(
			    w, errs, path, "changing it needs a restart");
		}
	}
}

int
reload_fixed_keys(const struct config *o, const struct config *n,
    const char *endpoint_key, struct reload_where *w,
    struct config_errors *errs)
{
	const struct {
		int         changed;
		const char *key;
	} k[] = {
	    {strcmp(o->tun.name, n->tun.name) != 0, "tun.name"},
	    {o->tun.mtu != n->tun.mtu, "tun.mtu"},
	    {o->flows_max != n->flows_max, "flows.max"},
	    /* the TUN device's and the sockets' offloads are set when they
	     * are opened */
	    {o->offload != n->offload, "offload"},
	    /* each worker's TUN queue and sockets, opened at start */
	    {o->workers != n->workers, "workers"},
	};
	const char *cluster;
	size_t      i, before = errs->n;

	endpoints_fixed(o, n, endpoint_key, w, errs);
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i].changed)
			(void)reload_refuse(
			    w, errs, k[i].key, "changing it needs a restart");
	/* popd's cluster: the CPG group is joined as this node at start,
	 * and every member holds the others as they were then. */
	if ((cluster = config_cluster_diff(&o->cluster, &n->cluster)) != NULL)
		(void)reload_refuse(
		    w, errs, cluster, "changing it needs a restart");
	return errs->n > before ? -1 : 0;
}
