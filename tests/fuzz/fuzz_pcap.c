/*
 * libFuzzer target for the capture path of wanpairctl replay: the bytes
 * are a capture file.  libpcap reads it (pcap or pcapng, any link type it
 * claims), and every frame goes through capture_ip_offset and the engine
 * exactly as in replay, including a failover half way, with application
 * rules (their profile has a route on WAN1 only, so the failover leaves
 * it none) and both outputs written to /dev/null.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "replay.h"

/* Small table so eviction and expiry paths run too. */
static const char conf_text[] =
    "{\"links\": ["
    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],"
    "\"profiles\": [{\"name\": \"sticky\", \"algorithm\": \"flow\","
    " \"stickiness\": \"source-network\", \"keepalive\": \"usage\"},"
    " {\"name\": \"voice\", \"algorithm\": \"usage\"}],"
    "\"routes\": ["
    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": \"sticky\"},"
    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": \"sticky\"},"
    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": \"voice\"},"
    "{\"network\": \"::/0\", \"link\": \"WAN2\"}],"
    "\"rules\": [{\"name\": \"rtp\", \"protocol\": [\"udp\", \"sctp\"],"
    " \"destination_port\": [\"1024-65535\", 53], \"profile\": \"voice\"},"
    " {\"dscp\": [\"EF\", \"CS6\"], \"source\": [\"10.0.0.0/8\", \"::/1\"],"
    " \"profile\": \"voice\"},"
    " {\"protocol\": \"icmp\", \"destination\": \"::/0\","
    " \"profile\": \"voice\"}],"
    "\"flows\": {\"max\": 64}}";

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *conf;
	static FILE          *null;
	struct config_errors  errs = {0};
	struct replay_fail    fail;
	char                  errbuf[PCAP_ERRBUF_SIZE + 256];
	struct replay         r;
	pcap_t               *p;
	FILE                 *fp;

	if (conf == NULL) {
		conf = config_parse(conf_text, sizeof(conf_text) - 1,
		    "fuzz.json", CONFIG_REPLAY, &errs);
		if (conf == NULL || (null = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	if (size == 0 ||
	    (fp = fmemopen((void *)(uintptr_t)data, size, "rb")) == NULL)
		return 0;
	/* pcap_fopen_offline closes fp with the handle, or leaves it open
	 * on failure. */
	if ((p = pcap_fopen_offline(fp, errbuf)) == NULL) {
		fclose(fp);
		return 0;
	}
	memset(&fail, 0, sizeof(fail));
	strcpy(fail.link, "WAN1");
	fail.at_s = 0.5;
	if (replay_init(
		&r, conf, SIDE_UP, &fail, 1, 1, errbuf, sizeof(errbuf)) == 0) {
		(void)replay_pcap(&r, p, errbuf, sizeof(errbuf));
		replay_finish(&r);
		replay_print_table(&r, null, "fuzz");
		(void)replay_print_json(&r, null);
	}
	replay_free(&r);
	pcap_close(p);
	return 0;
}
