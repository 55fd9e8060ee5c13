/* SPDX-License-Identifier: MIT */
/**
 * @file timers.h
 * `timers`: the timers in every P's timer heap, grouped by function (AfterFunc
 * closures by the closure, tickers, timers, sleeps), with their count, period
 * and next firing: go.timers. timers.c says where they live per Go version.
 */
#ifndef TLI_GO_TIMERS_H
#define TLI_GO_TIMERS_H

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

/** result.go.timers. Errors: TLI_E_NOT_GO, TLI_E_NO_INFO without the timer layouts. */
struct tli_error *tli_go_cmd_timers(struct tli_session *s, json_t *result);

/* The same in steps, for a pipeline that stops once for several captures (snapshot, the
 * first screen): prepare before the stop (layouts; TLI_E_NO_INFO without them), capture while
 * stopped after the goroutine capture (tli_go_rt_capture), json after the release. */
struct tli_go_rt;
struct tli_layout;
struct tli_target;
struct tli_go_timers;
struct tli_error *tli_go_timers_prepare(struct tli_layout *l, struct tli_go_timers **ret);
struct tli_error *tli_go_timers_capture(struct tli_target *tg, struct tli_go_timers *t);
json_t *tli_go_timers_json(struct tli_go_rt *rt, const struct tli_go_timers *t);
void tli_go_timers_destroy(struct tli_go_timers *t);

#endif
