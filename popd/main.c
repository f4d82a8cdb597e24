/*
 * wanpair-popd: the point of presence's daemon.  It serves many sites:
 * decapsulates their traffic to its TUN device and balances each site's
 * return flows over its links by downstream bandwidth (DESIGN.md 3, 4, 6).
 * The skeleton is daemon/daemon.c, the daemon the library popd/libpopd.a.
 */
#include "autoconf.h"

#include "daemon.h"
#include "popd.h"

int
main(int argc, char *argv[])
{
	return daemon_main(argc, argv, &popd_ops);
}
