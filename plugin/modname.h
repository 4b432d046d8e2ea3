/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Module names as the kernel compares them: '-' and '_' are the same
 * character (kmod's modname_normalize); kabi-deps keeps them with '_'.
 * The one rule for the library, the CLI and the tools. */
#ifndef KABI_MODNAME_H
#define KABI_MODNAME_H

static inline char *kabi_modname_normalize(char *name)
{
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	return name;
}

#endif
