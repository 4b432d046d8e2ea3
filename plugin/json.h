/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON strings for the CLI's --json output (dump, check). */
#ifndef KABI_DEPS_JSON_H
#define KABI_DEPS_JSON_H

#include <stdio.h>

/* s as a JSON string, or null when s is NULL.  The output is valid UTF-8
 * whatever s holds: '"', '\\' and control characters (U+0000..U+001F,
 * U+007F) are escaped, well-formed UTF-8 is copied, and every byte that is
 * not part of well-formed UTF-8 becomes \u00XX of the byte (U+0080..U+00FF),
 * so a reader can tell which byte it was. */
void json_string(FILE *out, const char *s);

#endif
