/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A dependency generator that reads what rpm gives it and prints nothing:
 * bench/rpmbuild.py --floor runs it (linked statically) in place of the
 * CLI, for what rpm's own fork and exec of a generator costs. */
#include <unistd.h>

int main(void)
{
	char buf[4096];

	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
