/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Subcommands of the kabi-deps CLI that live in files of their own. */
#ifndef KABI_DEPS_H
#define KABI_DEPS_H

#include <stddef.h>

/* kabi-deps symsets ...: argv[1] is "symsets"; returns the exit status. */
int kabi_deps_symsets(int argc, char **argv);
/* kabi-deps check ...: which kernels a kmod fits. */
int kabi_deps_check(int argc, char **argv);
/* kabi-deps weak-modules ...: weak-updates/ links for every installed kernel. */
int kabi_deps_weak_modules(int argc, char **argv);

#endif
