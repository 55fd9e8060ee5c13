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

#endif
