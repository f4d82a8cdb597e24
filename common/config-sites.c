/*
 * popd's sites: those of "sites" in popd.json, then those of "sites_dir",
 * one JSON object a file, so that a site is provisioned by dropping a file
 * as with nginx's conf.d or systemd-networkd's directories.
 *
 * Each site is parsed where it is written, with that file's positions.
 * The checks across sites (names and identities unique, LANs apart) run
 * over the merged list and put each error in the file of the site that
 * comes later (inline sites first, then the files by name), saying where
 * the other one is.  A site file's JSON and position index are freed as
 * soon as it is parsed: the checks need only where its name, identity
 * and LAN prefixes are, kept here, so thousands of files cost little
 * more than their sites.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config-int.h"

#define OWN_FILE SIZE_MAX /* origin.index of a site file's site */

static const char *const site_keys[] = {
    "name", "identity", "lan", "flows_max", NULL};

struct at {
	unsigned line, col;
};

/* Where a site is written. */
struct origin {
	struct cparse *cp;    /* its file: errors about it go there */
	size_t         index; /* in "sites", or OWN_FILE */
	struct at      name, identity;
	struct at     *lan; /* one per LAN prefix */
};

struct sitefile {
	struct cparse cp;
	char         *path; /* cp.name */
};

struct cfg_sites {
	int              dirnode;  /* the value of "sites_dir", or NONE */
	int              dirok;    /* sites_dir is set and its value good */
	int              inline_r; /* "sites": 1 good, 0 absent, -1 bad */
	int              arrnode;  /* the value of "sites", or NONE */
	struct origin   *org;      /* one per conf->sites[] */
	size_t           norg;
	struct sitefile *files; /* one per site file read */
	size_t           nfiles;
};

static void
parse_site(struct cparse *cp, json_t *o, int node, struct config_site *site,
    uint32_t flows_max)
{
	cfg_check_keys(cp, o, node, site_keys);
	if (cfg_get_name(cp, o, node, "name", site->name, sizeof(site->name),
		JSONPOS_NAME_TEXT) == 0)
		cfg_missing(cp, node, "name");
	if (cfg_get_name(cp, o, node, "identity", site->identity,
		sizeof(site->identity), JSONPOS_NAME_TEXT) == 0)
		cfg_missing(cp, node, "identity");
	if (cfg_get_prefix_list(cp, o, node, "lan", &site->lan, &site->nlan) ==
	    0)
		cfg_missing(cp, node, "lan");
	if (cfg_get_uint(cp, o, node, "flows_max", 1, FLOWS_MAX_MAX,
		&site->flows_max) == 1) {
		site->flows_max_own = 1;
		if (site->flows_max > flows_max) {
			int vnode;

			(void)cfg_member(cp, o, node, "flows_max", &vnode);
			cfg_report(cp, vnode, "%u is more than flows.max (%u)",
			    site->flows_max, flows_max);
		}
	}
}

/* Keeps where the site at `node` of cp's file has its values. */
static void
record(struct cparse *cp, int node, const struct config_site *site,
    size_t index, struct origin *o)
{
	size_t i;
	int    lan;

	o->cp = cp;
	o->index = index;
	jsonpos_value_at(cp->pos, jsonpos_member(cp->pos, node, "name"),
	    &o->name.line, &o->name.col);
	jsonpos_value_at(cp->pos, jsonpos_member(cp->pos, node, "identity"),
	    &o->identity.line, &o->identity.col);
	if (site->nlan == 0)
		return;
	if ((o->lan = calloc(site->nlan, sizeof(*o->lan))) == NULL) {
		cp->nomem = 1;
		return;
	}
	lan = jsonpos_member(cp->pos, node, "lan");
	for (i = 0; i < site->nlan; i++)
		jsonpos_value_at(cp->pos, jsonpos_element(cp->pos, lan, i),
		    &o->lan[i].line, &o->lan[i].col);
}

/* "sites_dir": a path without control characters (it starts every error
 * line about its files). */
static void
parse_sites_dir(struct cparse *cp, struct config *conf, json_t *root)
{
	struct cfg_sites *ss = cp->sites;
	struct quoted     q;
	int               r;

	if ((r = cfg_get_path(cp, root, 0, "sites_dir", &conf->sites_dir)) == 0)
		return;
	(void)cfg_member(cp, root, 0, "sites_dir", &ss->dirnode);
	if (r == 1 &&
	    !jsonpos_name_ok(
		conf->sites_dir, strlen(conf->sites_dir), JSONPOS_NAME_TEXT)) {
		cfg_report(cp, ss->dirnode,
		    "must not contain control characters; got %s",
		    cfg_quote(&q,
			json_string_value(json_object_get(root, "sites_dir"))));
		r = -1;
	}
	ss->dirok = r == 1;
}

void
cfg_parse_sites(struct cparse *cp, struct config *conf, json_t *root)
{
	struct cfg_sites *ss;
	size_t            i, n;
	json_t           *arr, *o;
	int               r, arrnode, node;

	if ((cp->sites = ss = calloc(1, sizeof(*ss))) == NULL) {
		cp->nomem = 1;
		return;
	}
	ss->dirnode = JSONPOS_NONE;
	parse_sites_dir(cp, conf, root);
	/* With a sites_dir, inline sites are optional. */
	r = cfg_get_container(cp, root, 0, "sites", JSON_ARRAY, &arr, &arrnode);
	ss->inline_r = r;
	ss->arrnode = r == 1 ? arrnode : JSONPOS_NONE;
	if (r == 0 && ss->dirnode == JSONPOS_NONE)
		cfg_missing(cp, 0, "sites");
	if (r != 1 || (n = json_array_size(arr)) == 0) {
		if (r == 1 && ss->dirnode == JSONPOS_NONE)
			cfg_report(cp, arrnode, "must not be empty");
		return;
	}
	if ((conf->sites = calloc(n, sizeof(*conf->sites))) == NULL ||
	    (ss->org = calloc(n, sizeof(*ss->org))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nsites = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_site(
			    cp, o, node, &conf->sites[i], conf->flows_max);
		record(cp, node, &conf->sites[i], i, &ss->org[i]);
	}
	ss->norg = n;
}

/* ------------------------------------------------------------ files */

/*
 * A site file: NAME.json, not hidden.  Editors' and packagers' leftovers
 * (x.json~, .x.json.swp, #x.json#, x.json.dpkg-old, x.json.rpmnew) end
 * otherwise or start with a dot.
 */
static int
site_file_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 &&
	    strcmp(name + len - 5, ".json") == 0;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The site file names in the directory, sorted; at most
 * CONFIG_SITE_FILES_MAX (more is an error, found without reading the
 * rest).  Returns the count, or -1 having reported why.
 */
static long
list_dir(struct cparse *cp, const char *dir, char ***out)
{
	struct cfg_sites *ss = cp->sites;
	struct quoted     q;
	struct dirent    *de;
	char            **names = NULL, **nn;
	size_t            n = 0, cap = 0, i;
	DIR              *d;
	int               bad = 0;

	if ((d = opendir(dir)) == NULL) {
		cfg_report(cp, ss->dirnode, "cannot open %s: %s",
		    cfg_quote(&q, dir), strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				cfg_report(cp, ss->dirnode,
				    "cannot read %s: %s", cfg_quote(&q, dir),
				    strerror(errno));
				bad = 1;
			}
			break;
		}
		if (!site_file_name(de->d_name))
			continue;
		if (!jsonpos_name_ok(
			de->d_name, strlen(de->d_name), JSONPOS_NAME_TEXT)) {
			cfg_report(cp, ss->dirnode,
			    "a file name with a control character: %s",
			    cfg_quote(&q, de->d_name));
			bad = 1;
			continue;
		}
		if (n == CONFIG_SITE_FILES_MAX) {
			cfg_report(cp, ss->dirnode,
			    "more than %d site files in %s",
			    CONFIG_SITE_FILES_MAX, cfg_quote(&q, dir));
			bad = 1;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nn = reallocarray(names, cap, sizeof(*nn))) ==
			    NULL)
				goto nomem;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	closedir(d);
	if (bad) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), strp_cmp);
	*out = names;
	return (long)n;
nomem:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cp->nomem = 1;
	return -1;
}

/* One site file into conf->sites[conf->nsites]; f->path is its path. */
static void
read_site_file(struct cparse *top, struct config *conf, struct sitefile *f)
{
	struct cfg_sites   *ss = top->sites;
	struct config_site *site = &conf->sites[conf->nsites];
	json_t             *root = NULL;
	char               *text = NULL;
	size_t              len;

	f->cp.name = f->path;
	f->cp.kind = top->kind;
	if (cfg_read_file(&f->cp, f->path, CONFIG_SITE_FILE_MAX_BYTES, 1, &text,
		&len) == -1 ||
	    cfg_load_json(&f->cp, text, len, &root) == -1)
		goto out;
	if (!json_is_object(root))
		cfg_report(&f->cp, 0, "must be an object, got %s",
		    jsonpos_type_name(root));
	else
		parse_site(&f->cp, root, 0, site, conf->flows_max);
	record(&f->cp, 0, site, OWN_FILE, &ss->org[conf->nsites]);
	ss->norg = ++conf->nsites;
out:
	/* Later errors about it have their positions recorded. */
	jsonpos_free(f->cp.pos);
	f->cp.pos = NULL;
	json_decref(root);
	free(text);
}

/*
 * Appends the sites of sites_dir's files.  A name that is not a regular
 * file once symbolic links are followed (a directory, a link to
 * /dev/null as systemd masks a unit, one removed since the listing) is
 * skipped.  Returns 0, or -1 if the directory could not be listed.
 */
static int
read_sites_dir(struct cparse *cp, struct config *conf)
{
	struct cfg_sites   *ss = cp->sites;
	struct config_site *sites;
	struct origin      *org;
	struct stat         st;
	char              **names = NULL, *path;
	long                n;
	size_t              i;

	if ((n = list_dir(cp, conf->sites_dir, &names)) <= 0)
		return (int)n;
	sites = reallocarray(
	    conf->sites, conf->nsites + (size_t)n, sizeof(*conf->sites));
	if (sites != NULL)
		conf->sites = sites;
	org = reallocarray(ss->org, conf->nsites + (size_t)n, sizeof(*ss->org));
	if (org != NULL)
		ss->org = org;
	if (sites == NULL || org == NULL ||
	    (ss->files = calloc((size_t)n, sizeof(*ss->files))) == NULL) {
		cp->nomem = 1;
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (asprintf(&path, "%s/%s", conf->sites_dir, names[i]) == -1) {
			cp->nomem = 1;
			goto out;
		}
		/* Any other stat() error is the file's, when it is read. */
		if (stat(path, &st) == -1 ? errno == ENOENT
					  : !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		memset(&conf->sites[conf->nsites], 0, sizeof(*conf->sites));
		memset(&ss->org[conf->nsites], 0, sizeof(*ss->org));
		ss->files[ss->nfiles].path = path;
		read_site_file(cp, conf, &ss->files[ss->nfiles++]);
	}
out:
	for (i = 0; i < (size_t)n; i++)
		free(names[i]);
	free(names);
	return 0;
}

/* ------------------------------------------------------------ checks */

/* The path of a site's value in its file: sites[2].lan[0], or lan[0]. */
static const char *
site_path(const struct origin *o, const char *key, char *buf, size_t size)
{
	if (o->index == OWN_FILE)
		snprintf(buf, size, "%s", key);
	else
		snprintf(buf, size, "sites[%zu].%s", o->index, key);
	return buf;
}

/*
 * Where `other`'s value at `at` is, for a message in here's file:
 * "sites[0] at 2:10" (or, `bare`, just "sites[0].lan[1]") in the same
 * file, "sites[0] at popd.json:2:10" or "b.json:2:10" in another.
 */
static const char *
site_where(char *buf, size_t size, const struct origin *here,
    const struct origin *other, const char *key, const struct at *at, int bare)
{
	char what[96];

	if (other->index == OWN_FILE) {
		if (key == NULL)
			snprintf(buf, size, "%s:%u:%u", other->cp->name,
			    at->line, at->col);
		else
			snprintf(buf, size, "%s at %s:%u:%u", key,
			    other->cp->name, at->line, at->col);
		return buf;
	}
	if (key == NULL)
		snprintf(what, sizeof(what), "sites[%zu]", other->index);
	else
		snprintf(
		    what, sizeof(what), "sites[%zu].%s", other->index, key);
	if (other->cp == here->cp && bare)
		snprintf(buf, size, "%s", what);
	else if (other->cp == here->cp)
		snprintf(buf, size, "%s at %u:%u", what, at->line, at->col);
	else
		snprintf(buf, size, "%s at %s:%u:%u", what, other->cp->name,
		    at->line, at->col);
	return buf;
}

/*
 * Names (or identities, compared as tls.c matches them: without regard
 * to ASCII case) used by an earlier site are reported at the later one.
 */
static void
check_unique(struct cparse *cp, struct config *conf, int identity)
{
	const char *const what = identity ? "identity" : "site name";
	const char *const key = identity ? "identity" : "name";
	struct origin    *here, *first;
	struct nameref   *refs;
	struct quoted     q;
	const char       *name;
	char              path[64], where[PATH_MAX + 64];
	size_t            i, n = 0, f = 0;

	if (conf->nsites < 2)
		return;
	if ((refs = calloc(conf->nsites, sizeof(*refs))) == NULL) {
		cp->nomem = 1;
		return;
	}
	for (i = 0; i < conf->nsites; i++) {
		name = identity ? conf->sites[i].identity : conf->sites[i].name;
		if (name[0] != '\0') {
			refs[n].name = name;
			refs[n++].i = i;
		}
	}
	cfg_sort_names(refs, n, identity);
	for (i = 1; i < n; i++) {
		if (cfg_name_cmp(refs[i].name, refs[f].name, identity) != 0) {
			f = i;
			continue;
		}
		here = &cp->sites->org[refs[i].i];
		first = &cp->sites->org[refs[f].i];
		cfg_report_at(here->cp,
		    identity ? here->identity.line : here->name.line,
		    identity ? here->identity.col : here->name.col,
		    site_path(here, key, path, sizeof(path)),
		    "duplicate %s %s (also %s)", what,
		    cfg_quote(&q, refs[i].name),
		    site_where(where, sizeof(where), here, first, NULL,
			identity ? &first->identity : &first->name, 0));
	}
	free(refs);
}

/* Where a site's LAN prefix sits: sites[site].lan[lan]. */
struct lanref {
	const struct wp_prefix *p;
	size_t                  site, lan;
};

static int
lanref_cmp(const void *a, const void *b)
{
	const struct lanref *x = a, *y = b;
	int                  c;

	if (x->p->addr.family != y->p->addr.family)
		return x->p->addr.family < y->p->addr.family ? -1 : 1;
	if ((c = memcmp(x->p->addr.a, y->p->addr.a, sizeof(x->p->addr.a))) != 0)
		return c;
	if (x->p->len != y->p->len)
		return x->p->len < y->p->len ? -1 : 1;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->lan < y->lan ? -1 : x->lan > y->lan;
}

static void
report_overlap(
    struct cparse *cp, const struct lanref *a, const struct lanref *b)
{
	const struct lanref *later, *earlier;
	const struct origin *here, *other;
	char                 pa[PREFIX_STRLEN], pb[PREFIX_STRLEN], key[32];
	char                 path[64], where[PATH_MAX + 64];

	/* The error goes on whichever comes later in the list. */
	if (a->site > b->site || (a->site == b->site && a->lan > b->lan)) {
		later = a;
		earlier = b;
	} else {
		later = b;
		earlier = a;
	}
	here = &cp->sites->org[later->site];
	other = &cp->sites->org[earlier->site];
	snprintf(key, sizeof(key), "lan[%zu]", later->lan);
	site_path(here, key, path, sizeof(path));
	snprintf(key, sizeof(key), "lan[%zu]", earlier->lan);
	cfg_report_at(here->cp, here->lan[later->lan].line,
	    here->lan[later->lan].col, path, "\"%s\" overlaps \"%s\" (%s)",
	    prefix_ntop(later->p, pa, sizeof(pa)),
	    prefix_ntop(earlier->p, pb, sizeof(pb)),
	    site_where(where, sizeof(where), here, other, key,
		&other->lan[earlier->lan], 1));
}

/*
 * A packet for a LAN address must belong to exactly one site, so LAN
 * prefixes of different sites may not overlap (one site may nest its own).
 * Sorted by address then length, every prefix follows the prefixes that
 * contain it, so a stack of the enclosing prefixes finds each overlap in
 * one pass.  Equal prefixes share one stack entry that remembers the first
 * site and the first other site, which keeps the stack within 129 entries.
 */
static void
check_lan_overlaps(struct cparse *cp, struct config *conf)
{
	struct {
		const struct lanref *first, *other;
	} stack[129];
	struct lanref       *refs;
	const struct lanref *x, *partner;
	size_t               n = 0, depth = 0, i, j, k;

	for (i = 0; i < conf->nsites; i++)
		n += conf->sites[i].nlan;
	if (n < 2)
		return;
	if ((refs = calloc(n, sizeof(*refs))) == NULL) {
		cp->nomem = 1;
		return;
	}
	n = 0;
	for (i = 0; i < conf->nsites; i++)
		for (j = 0; j < conf->sites[i].nlan; j++)
			if (conf->sites[i].lan[j].addr.family != 0) {
				refs[n].p = &conf->sites[i].lan[j];
				refs[n].site = i;
				refs[n++].lan = j;
			}
	qsort(refs, n, sizeof(*refs), lanref_cmp);
	for (i = 0; i < n; i++) {
		x = &refs[i];
		while (depth > 0 &&
		    !prefix_contains(stack[depth - 1].first->p,
			x->p->addr.family, x->p->addr.a))
			depth--;
		/* The most specific enclosing prefix of another site. */
		partner = NULL;
		for (k = depth; k-- > 0 && partner == NULL;) {
			if (stack[k].first->site != x->site)
				partner = stack[k].first;
			else if (stack[k].other != NULL)
				partner = stack[k].other;
		}
		if (partner != NULL)
			report_overlap(cp, partner, x);
		if (depth > 0 && stack[depth - 1].first->p->len == x->p->len) {
			if (stack[depth - 1].other == NULL &&
			    stack[depth - 1].first->site != x->site)
				stack[depth - 1].other = x;
		} else if (depth < NELEM(stack)) {
			stack[depth].first = x;
			stack[depth++].other = NULL;
		}
	}
	free(refs);
}

/*
 * Every site's share of popd's one pool of flows.max (flow.h): its own
 * flows_max, else flows.site_max, else an equal share of what the sites
 * with their own leave.  The caps may not add up to more than the pool,
 * so that no site's flood can take an entry another site is promised: a
 * full site evicts its own idle flows, never another's.  The errors go
 * on "sites" (or on "sites_dir" when the sites are all in files).
 */
static void
site_flow_caps(struct cparse *cp, struct config *conf)
{
	const int node = cp->sites->arrnode != JSONPOS_NONE
	    ? cp->sites->arrnode
	    : cp->sites->dirnode;
	uint64_t  own = 0, sum = 0;
	size_t    i, rest = 0;
	uint32_t  share;

	for (i = 0; i < conf->nsites; i++)
		if (conf->sites[i].flows_max > conf->flows_max)
			return; /* said at that site */
		else if (conf->sites[i].flows_max_own)
			own += conf->sites[i].flows_max;
		else
			rest++;
	if (own > conf->flows_max) {
		cfg_report(cp, node,
		    "the sites' own flows_max add up to %llu, more than "
		    "flows.max (%u)",
		    (unsigned long long)own, conf->flows_max);
		return;
	}
	share = rest == 0 ? 0
	    : conf->flows_site_max != 0
	    ? conf->flows_site_max
	    : (uint32_t)((conf->flows_max - own) / rest);
	if (rest > 0 && share == 0) {
		cfg_report(cp, node,
		    "flows.max (%u) leaves no flow for each of the %zu sites "
		    "without flows_max",
		    conf->flows_max, rest);
		return;
	}
	for (i = 0; i < conf->nsites; i++) {
		if (!conf->sites[i].flows_max_own)
			conf->sites[i].flows_max = share;
		sum += conf->sites[i].flows_max;
	}
	if (sum > conf->flows_max)
		cfg_report(cp, node,
		    "the sites' flows_max add up to %llu (%zu at "
		    "flows.site_max %u), more than flows.max (%u)",
		    (unsigned long long)sum, rest, share, conf->flows_max);
}

void
cfg_finish_sites(struct cparse *cp, struct config *conf, int readdir)
{
	struct cfg_sites *ss = cp->sites;
	struct quoted     q;
	int               nomem = 0;
	size_t            i;

	if (ss == NULL || cp->nomem)
		return;
	/* popd serves at least one site, wherever it is written. */
	if (readdir && ss->dirok && read_sites_dir(cp, conf) == 0 &&
	    conf->nsites == 0 && ss->nfiles == 0 && ss->inline_r != -1 &&
	    !cp->nomem)
		cfg_report(cp, ss->dirnode, "no sites: %s has no site files%s",
		    cfg_quote(&q, conf->sites_dir),
		    ss->inline_r == 1 ? " and \"sites\" is empty"
				      : " and there is no \"sites\"");
	for (i = 0; i < ss->nfiles; i++)
		nomem |= ss->files[i].cp.nomem;
	if (cp->nomem || nomem)
		return;
	check_unique(cp, conf, 0);
	check_unique(cp, conf, 1);
	check_lan_overlaps(cp, conf);
	site_flow_caps(cp, conf);
}

int
cfg_sites_failed(const struct cparse *cp)
{
	size_t i;

	if (cp->sites == NULL)
		return 0;
	for (i = 0; i < cp->sites->nfiles; i++)
		if (cp->sites->files[i].cp.nerrs > 0 ||
		    cp->sites->files[i].cp.nomem)
			return 1;
	return 0;
}

void
cfg_sites_flush(struct cparse *cp, struct config_errors *out)
{
	struct cfg_sites *ss = cp->sites;
	size_t            i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->nfiles; i++) {
		cfg_flush_errors(&ss->files[i].cp, out);
		free(ss->files[i].path);
	}
	for (i = 0; i < ss->norg; i++)
		free(ss->org[i].lan);
	free(ss->files);
	free(ss->org);
	free(ss);
	cp->sites = NULL;
}
