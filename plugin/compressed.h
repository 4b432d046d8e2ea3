/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The compressions libkabideps reads (by magic: decompress-*.c), as the
 * suffixes the kernel's build and the distributions give such files: the
 * one list for the library, the CLI and the tools. */
#ifndef KABI_COMPRESSED_H
#define KABI_COMPRESSED_H

#define KABI_COMPRESSED_SUFFIXES ".gz", ".xz", ".zst"

#endif
