/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seed corpus for fuzz-module: the unit tests' fixtures of every era, ELF
 * class and byte order, plain and compressed.  usage: fuzz-seeds DIR */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

static void save(const char *dir, const char *name, const unsigned char *data, size_t size)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const char *const hows[] = { "xz", "zst", "gz" };

	if (argc != 2) {
		fputs("usage: fuzz-seeds DIR\n", stderr);
		return 2;
	}
	for (int i = 0; i < FX_ERAS * 4; i++) {
		struct fx_options o = { .era = (enum fx_era)(i / 4),
					.elf_class = i % 2 ? ELFCLASS64 : ELFCLASS32,
					.elf_data = (i / 2) % 2 ? ELFDATA2MSB : ELFDATA2LSB,
					.ext_versions = i % 3 == 0 };
		size_t size, csize;
		unsigned char *img = fx_module(&o, &size), *c;
		char name[64];

		snprintf(name, sizeof(name), "fx-%s-%d.ko", fx_era_names[o.era], i % 4);
		save(argv[1], name, img, size);
		c = fx_compress(hows[i % 3], img, size, &csize);
		snprintf(name, sizeof(name), "fx-%s-%d.ko.%s", fx_era_names[o.era], i % 4, hows[i % 3]);
		save(argv[1], name, c, csize);
		free(c);
		free(img);
	}
	return 0;
}
