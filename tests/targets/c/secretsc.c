/* SPDX-License-Identifier: MIT */
/*
 * secretsc: plants credentials where `tlinspect secrets` tells regions apart in a C program and
 * records where (tests/integration/secrets.sh checks every one is found in its region):
 *  - free: a JWT in a freed tcache-sized chunk (past the 16 bytes tcache reuses) and a PEM
 *    private key in a freed 2 KiB chunk (unsorted bin; a live guard chunk keeps it off top);
 *  - live: a postgres URL with a password in a malloc'd buffer a global points to;
 *  - stack-dead: a Bearer token written deep in a thread's call chain that has returned; the
 *    thread then blocks in a raw pause, shallow.
 * Tokens are built at run time from the pid (none is in the binary). Writes OUTDIR/planted.txt
 * ("REGION KIND ADDRESS TOKEN"), prints "ready PID", waits.
 * Build: gcc -O1 -g -pthread -o secretsc secretsc.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *live_buf;
static FILE *rec;
static char stack_tok[128];
static volatile uintptr_t stack_at;
static volatile int planted;

static void __attribute__((noinline)) deep(int n)
{
	volatile char pad[512];
	if (n > 0) {
		deep(n - 1);
		pad[0] = 0;
		return;
	}
	for (size_t i = 0; i <= strlen(stack_tok); i++) /* volatile stores: not dead-store eliminated */
		pad[32 + i] = stack_tok[i];
	stack_at = (uintptr_t)(pad + 32) + 7; /* after "Bearer " */
}

static void *holder(void *arg)
{
	(void)arg;
	deep(16);
	planted = 1;
	for (;;)
		syscall(SYS_pause);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char path[4096];
	snprintf(path, sizeof(path), "%s/planted.txt", argv[1]);
	rec = fopen(path, "w");
	if (!rec)
		return 1;
	int pid = getpid();
	char tok[4096];
	/* free (tcache): a JWT past the tcache next/key words */
	char *a = malloc(200), *keep1 = malloc(200);
	snprintf(tok, sizeof(tok), "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDFREE%d.c2lnQ0ZSRUU%dxyz", pid, pid);
	strcpy(a + 32, tok);
	fprintf(rec, "free jwt 0x%lx %s\n", (unsigned long)(uintptr_t)(a + 32), tok);
	free(a);
	/* live, allocated first: it must not be carved out of the freed chunk below */
	live_buf = malloc(256);
	/* live */
	snprintf(live_buf, 256, "postgres://app:CLive%dpw@db.example:5432/app", pid);
	char *pw = strchr(live_buf + 11, ':') + 1;
	fprintf(rec, "live url-password 0x%lx %.*s\n", (unsigned long)(uintptr_t)pw, (int)(strchr(pw, '@') - pw), pw);
	/* stack-dead */
	snprintf(stack_tok, sizeof(stack_tok), "Bearer cstackTOKEN%dabcdefghijkl", pid);
	pthread_t th;
	pthread_create(&th, NULL, holder, NULL);
	while (!planted)
		usleep(1000);
	fprintf(rec, "stack-dead bearer-token 0x%lx %s\n", (unsigned long)stack_at, stack_tok + 7);
	/* free (unsorted): a PEM key in a 2 KiB chunk, a live guard after it; last, so that no
	 * later allocation (the thread's dtv, stdio buffers) is carved out of it */
	char *b = malloc(2048), *guard = malloc(64);
	int n = snprintf(tok, sizeof(tok), "-----BEGIN RSA PRIVATE KEY-----\nMIIEpCPEM%dAAKCAQEA", pid);
	for (int i = 0; i < 12; i++)
		n += snprintf(tok + n, sizeof(tok) - n, "\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo%02d%d", i, pid);
	snprintf(tok + n, sizeof(tok) - n, "\n-----END RSA PRIVATE KEY-----");
	strcpy(b + 64, tok);
	/* the record keeps the key on one line: newlines as '|' */
	fprintf(rec, "free pem-private-key 0x%lx ", (unsigned long)(uintptr_t)(b + 64));
	for (char *p = tok; *p; p++)
		fputc(*p == '\n' ? '|' : *p, rec);
	fputc('\n', rec);
	free(b);
	memset(stack_tok, 0, sizeof(stack_tok)); /* only the dead stack keeps it */
	memset(tok, 0, sizeof(tok));
	fclose(rec);
	char msg[32];
	int m = snprintf(msg, sizeof(msg), "ready %d\n", pid);
	if (write(1, msg, (size_t)m) != m) /* no stdio buffer allocated now */
		return 1;
	(void)keep1;
	(void)guard;
	for (;;)
		syscall(SYS_pause);
}
