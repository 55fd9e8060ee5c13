/* SPDX-License-Identifier: MIT */
/* How much more memory this process can have (memlimit.h). */
#include "memlimit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* "Key: N kB" from a /proc file, in bytes (0: not found). */
static uint64_t proc_kb(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[256];
	size_t kl = strlen(key);
	uint64_t kb = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':' && sscanf(line + kl + 1, "%" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/* One number from a cgroup file ("max" and v1's near-2^63 "unlimited": UINT64_MAX). */
static uint64_t cg_num(const char *dir, const char *file)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "re");
	if (!f)
		return UINT64_MAX;
	uint64_t v = UINT64_MAX;
	if (fscanf(f, "%" SCNu64, &v) != 1 || v >= (1ull << 62))
		v = UINT64_MAX;
	fclose(f);
	return v;
}

/* "key N" from a cgroup's memory.stat (0: none). */
static uint64_t cg_stat(const char *dir, const char *key)
{
	char p[4200], line[256];
	snprintf(p, sizeof(p), "%s/memory.stat", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	size_t kl = strlen(key);
	uint64_t v = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ' && sscanf(line + kl + 1, "%" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

static void take(uint64_t *best, uint64_t v, char *why, size_t whylen, const char *fmt, uint64_t a, uint64_t b)
{
	if (v >= *best)
		return;
	*best = v;
	if (why && whylen)
		snprintf(why, whylen, fmt, a, b);
}

/*
 * Our cgroup and its ancestors, v2 (memory.max, memory.current) or v1's memory
 * controller (memory.limit_in_bytes, memory.usage_in_bytes). Reclaimable page cache
 * (inactive_file) does not count as used.
 */
static void cgroup_headroom(uint64_t *best, char *why, size_t whylen)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2[1] != '/')
			continue;
		*c2 = 0;
		bool v2 = !strcmp(line, "0") && c1[1] == 0;
		bool v1 = false;
		for (char *tok = strtok(c1 + 1, ","); tok && !v2; tok = strtok(NULL, ","))
			v1 |= !strcmp(tok, "memory");
		if (!v1 && !v2)
			continue;
		char dir[4096];
		int n = snprintf(dir, sizeof(dir), "%s%s", v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", c2 + 1);
		if (n < 0 || (size_t)n >= sizeof(dir))
			continue;
		size_t root = strlen(v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory");
		for (int depth = 0; depth < 64; depth++) {
			uint64_t max = cg_num(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
			uint64_t cur = cg_num(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
			if (max != UINT64_MAX && cur != UINT64_MAX) {
				uint64_t inact = cg_stat(dir, v2 ? "inactive_file" : "total_inactive_file");
				cur = cur > inact ? cur - inact : 0;
				take(best, max > cur ? max - cur : 0, why, whylen,
				     "the cgroup's memory limit %" PRIu64 " MiB, %" PRIu64 " MiB of it in use",
				     max >> 20, cur >> 20);
			}
			char *slash = strrchr(dir, '/');
			if (!slash || (size_t)(slash - dir) < root)
				break;
			*slash = 0;
		}
	}
	fclose(f);
}

uint64_t tli_mem_headroom(char *why, size_t whylen)
{
	return tli_mem_headroom_of(TLI_MEM_ADDRESS | TLI_MEM_RESIDENT, why, whylen);
}

uint64_t tli_mem_headroom_of(unsigned which, char *why, size_t whylen)
{
	uint64_t best = UINT64_MAX;
	if (why && whylen)
		why[0] = 0;
	struct rlimit rl;
	if ((which & TLI_MEM_ADDRESS) && !getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		uint64_t used = proc_kb("/proc/self/status", "VmSize");
		take(&best, rl.rlim_cur > used ? rl.rlim_cur - used : 0, why, whylen,
		     "ulimit -v %" PRIu64 " kB (RLIMIT_AS), %" PRIu64 " MiB of it in use", (uint64_t)rl.rlim_cur >> 10,
		     used >> 20);
	}
	if (!(which & TLI_MEM_RESIDENT))
		return best;
	if (!getrlimit(RLIMIT_DATA, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		uint64_t used = proc_kb("/proc/self/status", "VmData");
		take(&best, rl.rlim_cur > used ? rl.rlim_cur - used : 0, why, whylen,
		     "ulimit -d %" PRIu64 " kB (RLIMIT_DATA), %" PRIu64 " MiB of it in use", (uint64_t)rl.rlim_cur >> 10,
		     used >> 20);
	}
	uint64_t avail = proc_kb("/proc/meminfo", "MemAvailable");
	if (avail) {
		uint64_t swap = proc_kb("/proc/meminfo", "SwapFree");
		take(&best, avail + swap, why, whylen,
		     "the host's available memory %" PRIu64 " MiB (MemAvailable + SwapFree, %" PRIu64 " MiB of swap)",
		     (avail + swap) >> 20, swap >> 20);
	}
	cgroup_headroom(&best, why, whylen);
	return best;
}
