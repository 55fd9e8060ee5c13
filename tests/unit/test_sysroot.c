/* SPDX-License-Identifier: MIT */
/*
 * --sysroot as an image's unpacked layers (core/sysroot.h): the topmost layer that has a
 * name wins, OCI whiteouts (.wh.NAME, .wh..wh..opq) and overlayfs' 0:0 device hide what is
 * below, symlinks are followed in the merged view and never out of it, only regular files
 * are opened; one directory behaves as tli_open_regular_in.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sysroot.h"

static char dir[] = "/tmp/tli_sysroot_XXXXXX";
static char layers[1024];

static void put(const char *layer, const char *path, const char *text)
{
	char p[1024], cmd[2200];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, layer, path);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	assert_int_equal(system(cmd), 0);
	if (!text)
		return;
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_(const char *layer, const char *path, const char *target)
{
	char p[1024];
	put(layer, path, NULL);
	snprintf(p, sizeof(p), "%s/%s/%s", dir, layer, path);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	/* L2, the base */
	put("L2", "usr/lib/libc.so.6", "L2 libc");
	put("L2", "usr/lib/gone.so", "L2 gone");
	put("L2", "etc/app/old.conf", "L2 old");
	put("L2", "etc/app/kept.conf", "L2 kept");
	put("L2", "opt/tool", "L2 tool");
	link_("L2", "lib", "usr/lib");
	put("L2", "outside-target", "L2 outside");
	/* L1: replaces libc, deletes gone.so, makes etc/app opaque, a symlink into the merged view */
	put("L1", "usr/lib/libc.so.6", "L1 libc");
	put("L1", "usr/lib/.wh.gone.so", "");
	put("L1", "etc/app/.wh..wh..opq", "");
	put("L1", "etc/app/new.conf", "L1 new");
	link_("L1", "usr/bin/tool", "../../opt/tool");
	link_("L1", "usr/bin/escape", "../../../../../../../../etc/passwd");
	link_("L1", "usr/bin/abs", "/lib/libc.so.6");
	/* L0, the top: a replaced dir over a lower file, an overlayfs whiteout, a FIFO */
	put("L0", "app/server", "L0 server");
	put("L0", "usr/share/x", NULL);
	char p[1024];
	snprintf(p, sizeof(p), "%s/L0/opt/tool", dir);
	put("L0", "opt/tool", NULL);
	rmdir(p);
	if (mknod(p, S_IFCHR | 0600, makedev(0, 0)) != 0) /* not root: use the OCI form instead */
		put("L0", "opt/.wh.tool", "");
	snprintf(p, sizeof(p), "%s/L0/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(layers, sizeof(layers), "%s/L0:%s/L1:%s/L2", dir, dir, dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* open path in the layers: its contents and the layer it came from, or -errno */
static int get(const char *path, char *text, size_t cap)
{
	struct stat st;
	char *res = NULL;
	int layer;
	int fd = tli_sysroot_open(layers, path, &st, &res, &layer);
	if (fd < 0) {
		free(res);
		return -errno;
	}
	ssize_t n = read(fd, text, cap - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	char want[1100];
	snprintf(want, sizeof(want), "%s/L%d/", dir, layer);
	assert_non_null(res);
	assert_memory_equal(res, want, strlen(want)); /* resolved = the path in that layer */
	free(res);
	return layer;
}

static void test_layers(void **state)
{
	(void)state;
	char t[64];
	assert_int_equal(get("/usr/lib/libc.so.6", t, sizeof(t)), 1);
	assert_string_equal(t, "L1 libc");
	assert_int_equal(get("/lib/libc.so.6", t, sizeof(t)), 1); /* L2's symlink, L1's file */
	assert_string_equal(t, "L1 libc");
	assert_int_equal(get("/usr/lib/gone.so", t, sizeof(t)), -ENOENT);
	assert_int_equal(get("/etc/app/old.conf", t, sizeof(t)), -ENOENT); /* opaque in L1 */
	assert_int_equal(get("/etc/app/kept.conf", t, sizeof(t)), -ENOENT);
	assert_int_equal(get("/etc/app/new.conf", t, sizeof(t)), 1);
	assert_int_equal(get("/app/server", t, sizeof(t)), 0);
	assert_int_equal(get("/usr/bin/tool", t, sizeof(t)), -ENOENT); /* whited out in L0 */
	assert_int_equal(get("/usr/bin/abs", t, sizeof(t)), 1);
	assert_string_equal(t, "L1 libc");
	/* ".." never climbs above the root: ../../../etc/passwd is the image's, not ours */
	assert_int_equal(get("/usr/bin/escape", t, sizeof(t)), -ENOENT);
	assert_int_equal(get("/../../outside-target", t, sizeof(t)), 2);
	assert_int_equal(get("/usr/lib/../lib/./libc.so.6", t, sizeof(t)), 1);
	assert_int_equal(get("/fifo", t, sizeof(t)), -EINVAL);
	assert_int_equal(get("/usr/lib", t, sizeof(t)), -EINVAL);
	assert_int_equal(get("/usr/lib/libc.so.6/x", t, sizeof(t)), -ENOTDIR);
	/* stat only */
	struct stat st;
	int layer;
	assert_int_equal(tli_sysroot_stat(layers, "/opt/../lib/libc.so.6", &st, NULL, &layer), 0);
	assert_int_equal(layer, 1);
}

static void test_one_dir_and_helpers(void **state)
{
	(void)state;
	char one[300], t[64], *res = NULL;
	struct stat st;
	int layer;
	snprintf(one, sizeof(one), "%s/L2", dir);
	int fd = tli_sysroot_open(one, "/lib/libc.so.6", &st, &res, &layer);
	assert_true(fd >= 0);
	ssize_t n = read(fd, t, sizeof(t) - 1);
	t[n > 0 ? n : 0] = 0;
	close(fd);
	assert_string_equal(t, "L2 libc");
	assert_int_equal(layer, 0);
	free(res);
	const char *dirs[8];
	char *buf;
	size_t nd = tli_debug_dirs_for(NULL, layers, dirs, 8, &buf);
	assert_int_equal(nd, 4);
	char want[400];
	snprintf(want, sizeof(want), "%s/L1/usr/lib/debug", dir);
	assert_string_equal(dirs[1], want);
	assert_string_equal(dirs[3], "/usr/lib/debug");
	free(buf);
	nd = tli_debug_dirs_for("/proc/7/root", NULL, dirs, 8, &buf);
	assert_int_equal(nd, 2);
	assert_string_equal(dirs[0], "/proc/7/root/usr/lib/debug");
	free(buf);
	char o[600], p[600];
	snprintf(p, sizeof(p), "%s/L1/usr/lib/libc.so.6", dir);
	snprintf(want, sizeof(want), "sysroot layer 1 (%s/L1)", dir);
	assert_string_equal(tli_file_origin(p, NULL, layers, o, sizeof(o)), want);
	assert_string_equal(tli_file_origin("/proc/7/root/x", "/proc/7/root", NULL, o, sizeof(o)), "the target's root");
	assert_string_equal(tli_file_origin("/usr/lib/x", NULL, layers, o, sizeof(o)), "the host");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layers),
		cmocka_unit_test(test_one_dir_and_helpers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
