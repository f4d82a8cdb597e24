#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto.h"
#include "../unit/replay_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct replay_model model;

/*
 * A model test of the anti-replay window: the input is a sequence of
 * steps, each an op byte and an operand that pick the next counter (see
 * replay_model_pick()); bit 2 of the op says whether the packet
 * authenticates (is recorded), bit 3 whether a refused counter is also
 * passed to replay_update() (which must not move the window).  Any answer
 * of replay_check() that differs from the reference set is a crash.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_window w;
	size_t               off = 0, step = 0, need, i;
	uint64_t             arg, c;
	uint8_t              op;
	int                  real, ref;

	replay_init(&w);
	replay_model_init(&model);
	while (off < size) {
		op = data[off++];
		need = (op & 3) == 2 ? 8 : 1;
		if (size - off < need)
			break;
		for (arg = 0, i = 0; i < need; i++)
			arg = arg << 8 | data[off + i];
		off += need;
		c = replay_model_pick(&model, op, arg);
		if (replay_model_step(&w, &model, c, (op & 4) != 0,
			(op & 8) != 0, &real, &ref) == -1) {
			fprintf(stderr,
			    "step %zu: counter %llu: replay_check %d, "
			    "reference %d (top %llu)\n",
			    step, (unsigned long long)c, real, ref,
			    (unsigned long long)w.top);
			abort();
		}
		step++;
	}
	return 0;
}
