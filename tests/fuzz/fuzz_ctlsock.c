/*
 * The control socket's request parser: bytes from any local user who can
 * open the socket.  A request that parses must encode and parse back to
 * the same request.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ctlsock_req req, back;
	char               err[CTLSOCK_ERRLEN], *line;

	if (ctlsock_req_parse(
		(const char *)data, len, &req, err, sizeof(err)) == -1)
		return 0;
	if ((line = ctlsock_req_encode(&req)) == NULL)
		abort();
	if (ctlsock_req_parse(line, strlen(line), &back, err, sizeof(err)) ==
		-1 ||
	    memcmp(&req, &back, sizeof(req)) != 0)
		abort();
	free(line);
	return 0;
}
