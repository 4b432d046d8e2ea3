/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What rpm does with an attr's %__NAME_path for every file: regexec() of a
 * pattern compiled REG_EXTENDED | REG_NOSUB, in the locale of the
 * environment (rpmbuild calls setlocale(LC_ALL, "")).  Prints 1 or 0 and
 * the path for each path; ROUNDS more regexec() calls of each path are for
 * callgrind (the instructions of N rounds minus those of 0, over N).
 *   cc -O2 -o regexec-path bench/regexec-path.c
 *   regexec-path PATTERN ROUNDS PATH... */
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	regex_t re;
	long rounds;

	setlocale(LC_ALL, "");
	if (argc < 3 || regcomp(&re, argv[1], REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "usage: regexec-path PATTERN ROUNDS PATH...\n");
		return 2;
	}
	rounds = atol(argv[2]);
	for (int i = 3; i < argc; i++)
		printf("%d %s\n", regexec(&re, argv[i], 0, NULL, 0) == 0, argv[i]);
	for (long r = 0; r < rounds; r++)
		for (int i = 3; i < argc; i++)
			(void)regexec(&re, argv[i], 0, NULL, 0);
	regfree(&re);
	return 0;
}
