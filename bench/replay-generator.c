/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A dependency generator that prints, for the file rpm gives it, the lines
 * the CLI printed for that file beforehand: bench/rpmbuild.py --replay
 * (singlefile) runs it, linked statically, in place of the CLI, for what
 * rpm's taking of those lines costs beyond starting a generator (the floor,
 * null-generator.c).  The table is a directory made by the benchmark,
 * REPLAY_DIR/KIND/PATH (PATH without the buildroot), KIND the first
 * argument, as the CLI's. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef REPLAY_DIR
#error "build with -DREPLAY_DIR='\"DIR\"'"
#endif

static void copy_out(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			exit(1);
}

int main(int argc, char **argv)
{
	const char *root = getenv("RPM_BUILD_ROOT");
	char in[4096], path[8192];
	size_t len = 0, skip = root ? strlen(root) : 0;
	ssize_t n;
	int fd;

	/* all of it: rpm throws away the output of a generator that does not read its input */
	while ((n = read(0, in + len, sizeof(in) - 1 - len)) > 0)
		len += (size_t)n;
	in[len] = '\0';
	in[strcspn(in, "\n")] = '\0';
	if (argc < 2 || strncmp(in, root ? root : "", skip) != 0)
		return 1;
	if (snprintf(path, sizeof(path), "%s/%s%s", REPLAY_DIR, argv[1], in + skip) >= (int)sizeof(path))
		return 1;
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		copy_out(fd);
	return 0;
}
