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

/* Modules of a batch opened ahead by worker threads (kabi-deps-prefetch.c).
 * prefetch_take(i), for i in increasing order: the module of paths[i], to be
 * freed by the caller before prefetch_stop(); NULL with *error set (free it)
 * when it could not be read; NULL alone when the caller must read paths[i]
 * itself (not a module, or no workers). */
struct prefetch;
struct kabi_module;
struct prefetch *prefetch_start(char **paths, size_t n);
struct kabi_module *prefetch_take(struct prefetch *pf, size_t i, char **error);
void prefetch_stop(struct prefetch *pf);

#endif
