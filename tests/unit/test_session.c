/* SPDX-License-Identifier: MIT */
/*
 * core/session.c: what every result says about its target. The backend's warnings about the
 * target itself (a truncated core, an unverified --exe) reach result["warnings"], before the
 * command's own, de-duplicated; the command's are de-duplicated and bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/session.h"

static json_t *describe(struct tli_session *s)
{
	json_t *doc = json_object();
	tli_session_describe(s, doc);
	return doc;
}

static void test_target_warnings_reach_the_result(void **state)
{
	(void)state;
	struct tli_target t = { .kind = TLI_TARGET_CORE };
	struct tli_session s = { .target = &t };
	tli_target_warn(&t, "core truncated: PT_LOAD at vaddr 0x%x needs %d bytes", 0x400000, 4096);
	tli_target_warn(&t, "could not verify that --exe %s matches", "/bin/x");
	tli_session_warn(&s, "goroutine %d: stack unreadable", 7);
	tli_session_warn(&s, "could not verify that --exe %s matches", "/bin/x"); /* said twice */
	json_t *doc = describe(&s);
	json_t *w = json_object_get(doc, "warnings");
	assert_int_equal(json_array_size(w), 3);
	assert_string_equal(json_string_value(json_array_get(w, 0)),
			    "core truncated: PT_LOAD at vaddr 0x400000 needs 4096 bytes");
	assert_string_equal(json_string_value(json_array_get(w, 1)), "goroutine 7: stack unreadable");
	assert_string_equal(json_string_value(json_array_get(w, 2)), "could not verify that --exe /bin/x matches");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "target"), "kind")), "core");
	json_decref(doc);
	tli_warnings_free(&t.warnings);
	tli_warnings_free(&s.warnings);
}

static void test_session_warnings_bounded_and_unique(void **state)
{
	(void)state;
	struct tli_target t = { .kind = TLI_TARGET_LIVE };
	struct tli_session s = { .target = &t };
	for (int i = 0; i < 100000; i++)
		tli_session_warn(&s, "item %d unreadable", i % 1000);
	for (int i = 0; i < 10; i++)
		tli_session_warn(&s, "same");
	json_t *doc = describe(&s);
	json_t *w = json_object_get(doc, "warnings");
	assert_int_equal(json_array_size(w), 200);
	assert_string_equal(json_string_value(json_array_get(w, 0)), "item 0 unreadable");
	assert_string_equal(json_string_value(json_array_get(w, 199)), "item 199 unreadable");
	/* a hostile target's text: invalid UTF-8 is made valid, long lines are cut */
	struct tli_session s2 = { .target = &t };
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	tli_session_warn(&s2, "bad \xff name");
	tli_session_warn(&s2, "%s", big);
	json_t *doc2 = describe(&s2);
	json_t *w2 = json_object_get(doc2, "warnings");
	assert_string_equal(json_string_value(json_array_get(w2, 0)), "bad ? name");
	assert_int_equal(strlen(json_string_value(json_array_get(w2, 1))), TLI_WARNING_LINE_MAX);
	json_decref(doc);
	json_decref(doc2);
	tli_warnings_free(&s.warnings);
	tli_warnings_free(&s2.warnings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_warnings_reach_the_result),
		cmocka_unit_test(test_session_warnings_bounded_and_unique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
