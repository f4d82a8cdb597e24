#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "countlog.h"
#include "log.h"

/* A line longer than this is cut, and ends in "...". */
#define LINE_MAX_LEN 2048

struct line {
	char   buf[LINE_MAX_LEN];
	size_t len;
	int    cut;
};

static void add(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (l->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(l->buf) - l->len) {
		memcpy(l->buf + sizeof(l->buf) - 4, "...", 4);
		l->cut = 1;
		return;
	}
	l->len += (size_t)n;
}

static int
scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static void
value(struct line *l, const json_t *v)
{
	if (json_is_string(v))
		add(l, "%s", json_string_value(v));
	else if (json_is_integer(v))
		add(l, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		add(l, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		add(l, "%s", json_is_true(v) ? "true" : "false");
	else
		add(l, "-");
}

static void
walk(const json_t *o, const char *path, void (*emit)(const char *, void *),
    void *arg)
{
	struct line l;
	const char *k, *name;
	json_t     *v, *e;
	char        sub[256];
	size_t      i, n = 0;

	memset(&l, 0, sizeof(l));
	add(&l, "%s:", path[0] != '\0' ? path : "counters");
	json_object_foreach((json_t *)o, k, v)
	{
		if (!scalar(v) || (strcmp(k, "name") == 0 && path[0] != '\0'))
			continue;
		add(&l, "%s %s ", n++ > 0 ? "," : "", k);
		value(&l, v);
	}
	if (n > 0)
		emit(l.buf, arg);
	json_object_foreach((json_t *)o, k, v)
	{
		if (json_is_object(v)) {
			snprintf(sub, sizeof(sub), "%s%s%s", path,
			    path[0] != '\0' ? " " : "", k);
			walk(v, sub, emit, arg);
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e)
			{
				if (!json_is_object(e))
					continue;
				name = json_string_value(
				    json_object_get(e, "name"));
				if (name != NULL)
					snprintf(sub, sizeof(sub), "%s%s%s %s",
					    path, path[0] != '\0' ? " " : "", k,
					    name);
				else
					snprintf(sub, sizeof(sub), "%s%s%s %zu",
					    path, path[0] != '\0' ? " " : "", k,
					    i);
				walk(e, sub, emit, arg);
			}
		}
	}
}

void
countlog_render(const json_t *c, void (*emit)(const char *, void *), void *arg)
{
	if (json_is_object(c))
		walk(c, "", emit, arg);
}

static void
to_log(const char *line, void *arg)
{
	(void)arg;
	log_info("%s", line);
}

void
countlog_log(const json_t *c)
{
	countlog_render(c, to_log, NULL);
}
