#include "autoconf.h"

#include <stdio.h>

#include <string.h>

#include "dataev.h"
#include "tundev.h"
#include "vnet.h"
#include "log.h"

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dataev_drain(arg);
}

int
dataev_start(struct dataev *de, struct event_base *base,
    const struct dataev_ops *ops, void *arg)
{
	tunnel_evq_init(&de->q);
	de->ops = ops;
	de->arg = arg;
	de->ev = event_new(base, -1, 0, drain_cb, de);
	return de->ev == NULL ? -1 : 0;
}

void
dataev_stop(struct dataev *de)
{
	if (de->ev != NULL)
		event_free(de->ev);
	de->ev = NULL;
}

void
dataev_kick(struct dataev *de)
{
	if (de->q.n > 0 && de->ev != NULL)
		event_active(de->ev, 0, 0);
}

void
dataev_drain(struct dataev *de)
{
	const struct dataev_ops *ops = de->ops;
	struct tunnel_evq       *q = &de->q;
	void                    *arg = de->arg;
	struct tunnel_ev         ev;
	struct tunnel           *t;
	void                    *owner;
	char                     who[96];

	while (tunnel_evq_pop(q, &ev)) {
		if ((t = ops->find(arg, ev.session, &owner)) == NULL)
			continue;
		who[0] = '\0';
		if (ops->who != NULL)
			ops->who(owner, who, sizeof(who));
		switch (ev.kind) {
		case TUNNEL_EV_PEER_EPOCH:
			log_info("%s%s key epoch %u (the peer's)", who,
			    ops->tx_up ? "downstream" : "upstream", ev.epoch);
			break;
		case TUNNEL_EV_NEED_KEY:
			/* Fails while the control channel is down (no TLS
			 * session to derive from): the tunnel asks again. */
			if ((ops->refill != NULL ? ops->refill(arg, owner)
						 : tunnel_refill(t)) == -1)
				log_debug("%s%s key epoch %u: cannot derive it "
					  "yet",
				    who, ev.link ? "upstream" : "downstream",
				    ev.epoch);
			break;
		case TUNNEL_EV_EXHAUSTED:
			/* The key sealed all it may and no next key came:
			 * nothing goes out until one does. */
			log_warnx("%s%s key epoch %u sealed all it may: "
				  "packets dropped until the next key (%llu "
				  "so far)",
			    who, ops->tx_up ? "upstream" : "downstream",
			    ev.epoch, (unsigned long long)ev.count);
			break;
		default: /* REKEY, PROBE, LINK_BACK, LINK_DOWN, ENDPOINT */
			ops->event(arg, owner, &ev);
			break;
		}
	}
}

json_t *
dataev_drops_json(const struct tunnel_drops *d, uint64_t tun_write,
    const struct dataev_drop *own, size_t nown)
{
	json_t *j;
	size_t  i;

	j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "bad_header",
	    (json_int_t)d->bad_header, "no_session", (json_int_t)d->no_session,
	    "replayed", (json_int_t)d->replay, "unauthenticated",
	    (json_int_t)d->auth, "key_exhausted", (json_int_t)d->key_exhausted,
	    "tun_write", (json_int_t)tun_write, "wrong_worker",
	    (json_int_t)d->wrong_worker);
	for (i = 0; j != NULL && i < nown; i++)
		if (json_object_set_new(j, own[i].name,
			json_integer((json_int_t)own[i].n)) == -1) {
			json_decref(j);
			j = NULL;
		}
	return j;
}

json_t *
dataev_io_json(const struct tun_dev *const *td, size_t ntd,
    struct udpio *const *io, size_t nio)
{
	static const struct {
		unsigned    bit;
		const char *name;
	} tso[] = {{TUN_F_TSO4, "tso4"}, {TUN_F_TSO6, "tso6"},
	    {TUN_F_USO4, "uso4"}, {TUN_F_USO6, "uso6"}};
	struct tundev_stats       sum, *ts = &sum;
	struct udpio_stats        u;
	const struct udpio_stats *s;
	unsigned off = tundev_offloads(td[0]), gso = 1, gro = 1;
	char     names[32] = "";
	size_t   i, n = 0;

	for (i = 0; i < sizeof(tso) / sizeof(tso[0]); i++)
		if (off & tso[i].bit)
			n += (size_t)snprintf(names + n, sizeof(names) - n,
			    "%s%s", n > 0 ? " " : "", tso[i].name);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < ntd; i++) {
		const struct tundev_stats *t = tundev_stats(td[i]);

		sum.reads += t->reads;
		sum.writes += t->writes;
		sum.superseg_in += t->superseg_in;
		sum.merged_out += t->merged_out;
		sum.split_errors += t->split_errors;
	}
	memset(&u, 0, sizeof(u));
	for (i = 0; i < nio; i++) {
		if (io[i] == NULL)
			continue;
		s = udpio_stats(io[i]);
		gso &= (udpio_offloads(io[i]) & UDPIO_GSO) != 0;
		gro &= (udpio_offloads(io[i]) & UDPIO_GRO) != 0;
		u.rx_syscalls += s->rx_syscalls;
		u.rx_dgrams += s->rx_dgrams;
		u.rx_gro_split += s->rx_gro_split;
		u.tx_syscalls += s->tx_syscalls;
		u.tx_dgrams += s->tx_dgrams;
		u.tx_gso_msgs += s->tx_gso_msgs;
		u.tx_dropped += udpio_tx_failed(s);
	}
	return json_pack("{s:{s:s,s:b,s:b},s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			 "s:I,s:I,s:I}",
	    "offload", "tun", names, "udp_gso", nio > 0 && gso, "udp_gro",
	    nio > 0 && gro, "tun_reads", (json_int_t)ts->reads, "tun_writes",
	    (json_int_t)ts->writes, "tun_superseg_in",
	    (json_int_t)ts->superseg_in, "tun_merged_out",
	    (json_int_t)ts->merged_out, "tun_split_errors",
	    (json_int_t)ts->split_errors, "udp_recv_calls",
	    (json_int_t)u.rx_syscalls, "udp_dgrams_in", (json_int_t)u.rx_dgrams,
	    "udp_gro_msgs", (json_int_t)u.rx_gro_split, "udp_send_calls",
	    (json_int_t)u.tx_syscalls, "udp_dgrams_out",
	    (json_int_t)u.tx_dgrams, "udp_gso_msgs", (json_int_t)u.tx_gso_msgs,
	    "udp_tx_failed", (json_int_t)u.tx_dropped);
}

json_t *
dataev_dup_json(const struct dup_counters *c)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "sent",
	    (json_int_t)c->sent, "delivered", (json_int_t)c->delivered,
	    "discarded", (json_int_t)c->discarded, "over_cap",
	    (json_int_t)c->over_cap, "single", (json_int_t)c->single, "bad",
	    (json_int_t)c->bad);
}
