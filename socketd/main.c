/*
 * wanpair-socketd: the edge box's daemon.  It balances the LAN's flows
 * over the WAN links by upstream bandwidth and carries them, encrypted,
 * to the PoP (DESIGN.md sections 3, 4 and 6).  The skeleton is
 * daemon/daemon.c, the daemon the library socketd/libsocketd.a.
 */
#include "autoconf.h"

#include "daemon.h"
#include "socketd.h"

int
main(int argc, char *argv[])
{
	return daemon_main(argc, argv, &socketd_ops);
}
