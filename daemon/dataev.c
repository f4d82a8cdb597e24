#include "autoconf.h"

#include <stdio.h>

#include "dataev.h"
#include "log.h"

void
dataev_drain(struct tunnel_evq *q, const struct dataev_ops *ops, void *arg)
{
	struct tunnel_ev ev;
	struct tunnel   *t;
	void            *owner;
	char             who[96];

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
			if (tunnel_refill(t) == -1)
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
		default: /* REKEY, PROBE, LINK_BACK */
			ops->event(arg, owner, &ev);
			break;
		}
	}
}
