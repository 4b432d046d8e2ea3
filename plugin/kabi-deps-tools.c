/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps-tools: the kabi-deps subcommands that need librpm and libarchive
 * (check, symsets, weak-modules), run by kabi-deps itself, whose generating commands load
 * neither: rpm < 4.16 starts a kabi-deps process per module and dependency
 * kind, and most of a process's start-up was the dynamic loading of those.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "kabi-deps.h"

int main(int argc, char **argv)
{
#ifdef M_TRIM_THRESHOLD
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
	if (argc >= 2 && strcmp(argv[1], "symsets") == 0)
		return kabi_deps_symsets(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return kabi_deps_check(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "weak-modules") == 0)
		return kabi_deps_weak_modules(argc, argv);
	fputs("usage: kabi-deps-tools check|symsets|weak-modules ... (run as kabi-deps check|...)\n", stderr);
	return 2;
}
