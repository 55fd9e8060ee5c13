/* SPDX-License-Identifier: MIT */
/**
 * @file secrets.h
 * `secrets`: credentials left in the target's memory. One stop captures every readable and
 * writable mapping together with what tells its regions apart (glibc's chunks; the Go heap,
 * its mark from the roots, goroutines and channels); after the release the copy is scanned
 * for credentials (scan.c) and each finding is placed (secrets.c): free memory (a free malloc
 * chunk, a free Go heap slot, an unreachable Go object), a channel's buffer or what it points
 * to, the dead part of a stack (below a goroutine's or thread's SP), or live memory.
 *
 * One redaction policy: a finding's preview is "KIND XXXX… (N chars)", the first 4 characters
 * at most (never more than half of it); the value itself only with `reveal`.
 */
#ifndef TLI_SECRETS_H
#define TLI_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/session.h"

enum tli_secret_kind {
	TLI_SECRET_JWT,
	TLI_SECRET_PEM_KEY,
	TLI_SECRET_BEARER,
	TLI_SECRET_AWS_KEY,
	TLI_SECRET_URL_PASSWORD,
	TLI_SECRET_DSN_PASSWORD,
	TLI_SECRET__N
};

/** One credential in a buffer: [off, off+len) is the secret itself. */
struct tli_secret_match {
	enum tli_secret_kind kind;
	size_t off, len;
};

/** "jwt", "pem-private-key", "bearer-token", "aws-access-key", "url-password", "dsn-password" */
const char *tli_secret_kind_name(enum tli_secret_kind k);
/**
 * The credentials in buf[0, len) that start before `limit` (a window's own part; the rest is
 * the overlap with the next window), in order, at most `max`. Returns how many.
 */
size_t tli_secrets_scan(const uint8_t *buf, size_t len, size_t limit, struct tli_secret_match *out, size_t max);
/** The redacted preview of a secret's bytes into out (at least 96 bytes). */
void tli_secret_preview(enum tli_secret_kind k, const uint8_t *s, size_t len, char *out, size_t outsz);

struct tli_secrets_opts {
	bool reveal;   /**< put each secret's value in the result ("value") */
	int max;       /**< findings kept (0 = default 10000) */
};

/** `secrets`: result.secrets = {findings, by_kind, by_region, scanned_bytes, ...}. */
struct tli_error *tli_secrets_cmd(struct tli_session *s, const struct tli_secrets_opts *o, json_t *result);

#endif
