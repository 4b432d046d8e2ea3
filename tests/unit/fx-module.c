/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the fixture module (fixture.c, 64-bit little endian, 5.19+ era) to
 * a file, for the tests of the CLI: fx-module PATH */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

int main(int argc, char **argv)
{
	struct fx_options o = { .era = FX_KCRCTAB, .elf_class = ELFCLASS64, .elf_data = ELFDATA2LSB };
	size_t size;
	unsigned char *img = fx_module(&o, &size);
	FILE *f = argc == 2 ? fopen(argv[1], "wb") : NULL;

	if (!img || !f || fwrite(img, 1, size, f) != size || fclose(f) != 0) {
		fprintf(stderr, "usage: fx-module PATH (writing failed)\n");
		return 1;
	}
	free(img);
	return 0;
}
