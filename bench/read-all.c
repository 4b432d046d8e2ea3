/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor for reading a tree: every byte of every file named on stdin
 * (one per line) through read(2) into one reused 1 MiB buffer.  cat does
 * more per file (on some machines far more: a fresh buffer mapped and
 * unmapped each time), so bench/run.py reports both.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void)
{
	char path[4096];
	unsigned long long total = 0;

	while (fgets(path, sizeof(path), stdin)) {
		int fd;
		ssize_t n;

		path[strcspn(path, "\n")] = '\0';
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			total += (unsigned long long)n;
		close(fd);
		if (n < 0) {
			perror(path);
			return 1;
		}
	}
	fprintf(stderr, "%llu bytes\n", total);
	return 0;
}
