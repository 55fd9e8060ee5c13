/* SPDX-License-Identifier: MIT */
/* Progress on stderr for long runs: see progress.h. One process-wide state: a run has one face. */
#include "progress.h"

#include <time.h>

static struct {
	FILE *f;
	bool tty;
	bool shown;              /* this phase printed something (a terminal line to clear) */
	double t0, last;         /* run start, last report (seconds) */
	const char *what;
	uint64_t total, next_check;
} P;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tli_progress_enable(FILE *f, bool tty)
{
	P.f = f;
	P.tty = tty;
	P.t0 = now();
}

static void report(uint64_t done, bool force)
{
	double t = now();
	if (t - P.t0 < 1.0 || (!force && t - P.last < (P.tty ? 0.2 : 1.0)))
		return;
	P.last = t;
	P.shown = true;
	if (P.total)
		fprintf(P.f, "%stlinspect: %s: %llu of %llu (%llu%%)%s", P.tty ? "\r" : "", P.what,
			(unsigned long long)done, (unsigned long long)P.total,
			(unsigned long long)(done * 100 / P.total), P.tty ? "\033[K" : "\n");
	else
		fprintf(P.f, "%stlinspect: %s ...%s", P.tty ? "\r" : "", P.what, P.tty ? "\033[K" : "\n");
	fflush(P.f);
}

void tli_progress_begin(const char *what, uint64_t total)
{
	if (!P.f)
		return;
	P.what = what;
	P.total = total;
	P.shown = false;
	P.next_check = 0;
	report(0, true);
}

void tli_progress_step(uint64_t done)
{
	if (!P.f || done < P.next_check)
		return;
	P.next_check = done + 1024; /* the clock is read once per 1024 steps */
	report(done, false);
}

void tli_progress_end(void)
{
	if (!P.f || !P.shown)
		return;
	if (P.tty)
		fputs("\r\033[K", P.f);
	fflush(P.f);
	P.shown = false;
}
