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

int
reload_fixed_keys(const struct config *o, const struct config *n,
    const char *endpoint_key, struct reload_where *w,
    struct config_errors *errs)
{
	const struct {
		int         changed;
		int         endpoint; /* key is under endpoint_key */
		const char *key;
	} k[] = {
	    {o->endpoint.address.family != n->endpoint.address.family ||
		    memcmp(o->endpoint.address.a, n->endpoint.address.a, 16) !=
			0,
		1, "address"},
	    {o->endpoint.data_port != n->endpoint.data_port, 1, "data_port"},
	    {o->endpoint.control_port != n->endpoint.control_port, 1,
		"control_port"},
	    {strcmp(o->tun.name, n->tun.name) != 0, 0, "tun.name"},
	    {o->tun.mtu != n->tun.mtu, 0, "tun.mtu"},
	    {o->flows_max != n->flows_max, 0, "flows.max"},
	    /* the TUN device's and the sockets' offloads are set when they
	     * are opened */
	    {o->offload != n->offload, 0, "offload"},
	};
	const char *cluster;
	char        path[64];
	size_t      i, before = errs->n;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (!k[i].changed)
			continue;
		if (k[i].endpoint)
			snprintf(path, sizeof(path), "%s.%s", endpoint_key,
			    k[i].key);
		else
			snprintf(path, sizeof(path), "%s", k[i].key);
		(void)reload_refuse(
		    w, errs, path, "changing it needs a restart");
	}
	/* popd's cluster: the CPG group is joined as this node at start,
	 * and every member holds the others as they were then. */
	if ((cluster = config_cluster_diff(&o->cluster, &n->cluster)) != NULL)
		(void)reload_refuse(
		    w, errs, cluster, "changing it needs a restart");
	return errs->n > before ? -1 : 0;
}
