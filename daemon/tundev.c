#include "autoconf.h"

#include <sys/socket.h>

#include <unistd.h>

#include "log.h"
#include "mss.h"
#include "tundev.h"

int
tundev_up(struct tun_dev *t, struct event_base *base, const char *name, int mtu,
    event_callback_fn cb, void *arg)
{
	if ((t->fd = tun_open(name, t->name, sizeof(t->name))) == -1) {
		log_warn("tun %s", name);
		return -1;
	}
	t->mtu = mtu;
	if (tun_up(t->name, t->mtu) == -1) {
		log_warn("tun %s: set MTU %d and up", t->name, t->mtu);
		return -1;
	}
	t->mss4 = mss_for_mtu(AF_INET, t->mtu);
	t->mss6 = mss_for_mtu(AF_INET6, t->mtu);
	t->ev = event_new(base, t->fd, EV_READ | EV_PERSIST, cb, arg);
	if (t->ev == NULL || event_add(t->ev, NULL) == -1)
		return -1;
	return 0;
}

void
tundev_close(struct tun_dev *t)
{
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
	if (t->fd > 0)
		close(t->fd);
	t->fd = -1;
}

void
tundev_write(struct tun_dev *t, const uint8_t *pkt, size_t len)
{
	if (write(t->fd, pkt, len) != (ssize_t)len)
		t->write_errors++;
}
