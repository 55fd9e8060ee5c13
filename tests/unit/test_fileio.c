/* SPDX-License-Identifier: MIT */
/*
 * core/fileio.c: files named by untrusted places (a core's NT_FILE, gdb) are
 * checked before they are opened, so a FIFO or device is never opened (oracle:
 * inotify's IN_OPEN on it, inotify(7)), and a --sysroot confines the names
 * (".." and symlinks, absolute ones too, resolve inside it; oracle: the inode
 * opened, and files planted just outside the root that must not be reached).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

static char top[256];   /* a private directory; the root is top/root */
static char root[300];

static void path_of(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", top, rel);
}

static void make_file(const char *rel, const char *content)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void make_link(const char *rel, const char *target)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/tli-test-fileio.%d", (int)getpid());
	snprintf(root, sizeof(root), "%s/root", top);
	char p[512];
	const char *dirs[] = { "", "root", "root/a", "root/real" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_of(p, sizeof(p), dirs[i]);
		if (mkdir(p, 0700) && errno != EEXIST)
			return -1;
	}
	make_file("root/a/file", "inside");
	make_file("root/real/lib", "real");
	make_file("x", "OUTSIDE");        /* top/x: just outside the root */
	make_file("root/x.sibling", "s");
	make_link("root/abs", "/real/lib");                /* absolute: from the root */
	make_link("root/a/esc", "../../../../../../x");    /* climbs as far as it can */
	make_link("root/a/up", "../x");                    /* top/root/x: absent */
	make_link("root/l1", "l2");
	make_link("root/l2", "l1");
	make_link("root/lfifo", "/fifo");
	path_of(p, sizeof(p), "root/fifo");
	return mkfifo(p, 0600);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* An inotify watch for IN_OPEN on path; opens_seen() drains it. */
static int watch(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(inotify_add_watch(fd, path, IN_OPEN) >= 0);
	return fd;
}

static int opens_seen(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	int n = 0;
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		n += (int)(k / (ssize_t)sizeof(struct inotify_event));
	close(fd);
	return n;
}

static void read_all(int fd, char *out, size_t n)
{
	ssize_t k = pread(fd, out, n - 1, 0);
	assert_true(k >= 0);
	out[k] = 0;
}

static void test_open_regular_checks_before_open(void **state)
{
	(void)state;
	char fifo[512], file[512];
	path_of(fifo, sizeof(fifo), "root/fifo");
	path_of(file, sizeof(file), "root/a/file");
	int w = watch(fifo);
	errno = 0;
	assert_int_equal(tli_open_regular(fifo), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(opens_seen(w), 0); /* never opened, not even O_NONBLOCK */
	errno = 0;
	assert_int_equal(tli_open_regular(root), -1);
	assert_int_equal(errno, EINVAL);
	int fd = tli_open_regular(file);
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	char b[32];
	read_all(fd, b, sizeof(b));
	assert_string_equal(b, "inside");
	close(fd);
}

/* tli_open_regular_in(root, name): the fd's content and the resolved path. */
static void expect_in(const char *name, const char *content, const char *resolved_rel)
{
	struct stat st;
	char *res = NULL, want[512], b[32];
	int fd = tli_open_regular_in(root, name, &st, &res);
	if (fd < 0)
		fail_msg("%s in %s: %s", name, root, strerror(errno));
	read_all(fd, b, sizeof(b));
	assert_string_equal(b, content);
	path_of(want, sizeof(want), resolved_rel);
	assert_non_null(res);
	assert_string_equal(res, want);
	struct stat fs;
	assert_int_equal(fstat(fd, &fs), 0);
	assert_true(fs.st_ino == st.st_ino && S_ISREG(st.st_mode));
	close(fd);
	free(res);
}

static void expect_in_fails(const char *name, int err, const char *resolved_rel)
{
	struct stat st;
	char *res = NULL;
	errno = 0;
	int fd = tli_open_regular_in(root, name, &st, &res);
	if (fd >= 0)
		fail_msg("%s in %s opened, want %s", name, root, strerror(err));
	if (errno != err)
		fail_msg("%s in %s: %s, want %s", name, root, strerror(errno), strerror(err));
	if (resolved_rel) {
		char want[512];
		path_of(want, sizeof(want), resolved_rel);
		assert_non_null(res);
		assert_string_equal(res, want);
	}
	free(res);
}

static void test_in_root_confined(void **state)
{
	(void)state;
	expect_in("/a/file", "inside", "root/a/file");
	expect_in("a//./file", "inside", "root/a/file");
	expect_in("/abs", "real", "root/real/lib");           /* absolute symlink: inside */
	expect_in("/../../real/../a/file", "inside", "root/a/file");
	expect_in_fails("/../x", ENOENT, "root/x");            /* top/x exists, is not reached */
	expect_in_fails("/a/esc", ENOENT, "root/x");           /* relative symlink climbing out */
	expect_in_fails("/a/up", ENOENT, "root/x");
	expect_in_fails("/l1", ELOOP, NULL);
	expect_in_fails("/a", EINVAL, NULL);                   /* a directory */
	expect_in_fails("/a/file/x", ENOTDIR, NULL);
	expect_in_fails("/a/..", EINVAL, NULL);
	char fifo[512];
	path_of(fifo, sizeof(fifo), "root/fifo");
	int w = watch(fifo);
	expect_in_fails("/fifo", EINVAL, "root/fifo");
	expect_in_fails("/lfifo", EINVAL, "root/fifo");        /* through a symlink too */
	assert_int_equal(opens_seen(w), 0);
	/* no root: "/", names as they are (an absolute symlink leads from the real /) */
	char file[512], *res = NULL;
	struct stat st;
	path_of(file, sizeof(file), "root/a/file");
	int fd = tli_open_regular_in(NULL, file, &st, &res);
	assert_true(fd >= 0);
	assert_string_equal(res, file);
	close(fd);
	free(res);
	path_of(file, sizeof(file), "root/abs");
	errno = 0;
	assert_int_equal(tli_open_regular_in(NULL, file, &st, &res), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(res, "/real/lib");
	free(res);
}

static void test_stat_in_root_opens_nothing(void **state)
{
	(void)state;
	char file[512];
	path_of(file, sizeof(file), "root/a/file");
	int w = watch(file);
	struct stat st;
	char *res = NULL;
	assert_int_equal(tli_stat_regular_in(root, "/a/file", &st, &res), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 6);
	free(res);
	errno = 0;
	assert_int_equal(tli_stat_regular_in(root, "/fifo", &st, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(opens_seen(w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_regular_checks_before_open),
		cmocka_unit_test(test_in_root_confined),
		cmocka_unit_test(test_stat_in_root_opens_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
