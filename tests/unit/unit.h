/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the Check unit tests share: running a suite, collecting messages. */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs every test of the suite; main()'s exit status. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The library's messages, one a line (kabi_ctx_set_log_fn); cut short when full. */
struct unit_log {
	char text[8192];
};

static inline void unit_log_collect(void *data, int level, const char *msg)
{
	struct unit_log *log = data;
	size_t len = strlen(log->text);

	(void)level;
	snprintf(log->text + len, sizeof(log->text) - len, "%s\n", msg);
}

#endif
