/* SPDX-License-Identifier: MIT */
/* Growth of core/vec.h vectors. */
#include "vec.h"

#include <stdint.h>

bool tli_vec_grow_(void **v, size_t *cap, size_t need, size_t elsize)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return false;
		ncap *= 2;
	}
	if (elsize && ncap > SIZE_MAX / elsize)
		return false;
	void *nv = realloc(*v, ncap * elsize);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}
