/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a fork and exec of /bin/true costs a process holding N MB of
 * touched heap: rpmbuild starts a generator process per file for rpm's
 * own attrs (elfdeps), and each start copies the page tables of all it
 * holds, so the cost of its memory shows up as time per fork.
 *   cc -O2 -o fork-cost bench/fork-cost.c && ./fork-cost 10 40 80 120
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FORKS 500

int main(int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		size_t bytes = strtoul(argv[a], NULL, 10) << 20;
		char *heap = malloc(bytes);
		struct timespec t0, t1;

		if (!heap)
			return 1;
		memset(heap, 1, bytes);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < FORKS; i++) {
			pid_t pid = fork();

			if (pid == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			if (pid < 0 || waitpid(pid, NULL, 0) < 0)
				return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%4s MB held: %7.1f us a fork and exec\n", argv[a],
		       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / FORKS / 1e3);
		free(heap);
	}
	return 0;
}
