/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The on-disk index of a Module.symvers (kabi_ctx_set_symvers_cache): the
 * same answers as parsing the text, used only for the file's state it was
 * made from, and refused when damaged (its header when it is opened, its
 * offsets when a lookup reads them: then the text answers). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kabideps.h"
#include "unit.h"

/* Every era's layout, a duplicate (the first row wins), a dashed module. */
static const char text[] = "0x11223344\tfx_plain\tvmlinux\tEXPORT_SYMBOL\t\n"
			   "0x0000abcd\tfx_ns_sym\tdrivers/fx/fx-core\tEXPORT_SYMBOL\tFX_NS\n"
			   "0xdeadbeef\tfx_gpl\tvmlinux\tEXPORT_SYMBOL_GPL\n"
			   "0x00000001\tfx_plain\tdrivers/fx/other\tEXPORT_SYMBOL\n"
			   "0x00000002\tfx_old\t\tdrivers/fx/old\tEXPORT_SYMBOL\n"
			   "0x00000003\tfx_older\tvmlinux\n";

static char dir[] = "/tmp/kabi-index-XXXXXX";
static char ref[sizeof(dir) + 32], cache[sizeof(dir) + 32];

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "r+"); /* in place: the same inode */

	if (!f)
		f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, strlen(data), f), strlen(data));
	ck_assert_int_eq(fclose(f), 0);
}

/* An index is written only for a file whose timestamps are 2 s old. */
static void settle(void)
{
	sleep(3);
}

static struct kabi_ctx *ctx_with(bool cached)
{
	struct kabi_ctx *ctx = kabi_ctx_new();

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(kabi_ctx_set_symvers(ctx, ref), 0);
	if (cached)
		ck_assert_int_eq(kabi_ctx_set_symvers_cache(ctx, cache), 0);
	return ctx;
}

/* Both ways give the same table, entry by entry, and the same lookups. */
static void same_answers(void)
{
	struct kabi_ctx *cached = ctx_with(true), *parsed = ctx_with(false);
	const struct kabi_symvers *a = kabi_ctx_reference(cached, NULL),
				  *b = kabi_ctx_reference(parsed, NULL);
	const char *names[] = { "fx_plain", "fx_ns_sym", "fx_gpl", "fx_old", "fx_older", "fx_absent", "" };
	const struct kabi_symvers_entry *ea, *eb;
	size_t na, nb;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ea = kabi_symvers_find(a, names[i]);
		eb = kabi_symvers_find(b, names[i]);
		ck_assert_msg(!ea == !eb, "%s: found in one only", names[i]);
		if (!ea)
			continue;
		ck_assert_uint_eq(ea->crc, eb->crc);
		ck_assert_str_eq(ea->name, eb->name);
		ck_assert_str_eq(ea->module, eb->module);
		ck_assert_str_eq(ea->type, eb->type);
		ck_assert_str_eq(ea->ns, eb->ns);
	}
	ea = kabi_symvers_entries(a, &na);
	eb = kabi_symvers_entries(b, &nb);
	ck_assert_uint_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		ck_assert_str_eq(ea[i].name, eb[i].name);
		ck_assert_str_eq(ea[i].module, eb[i].module);
		ck_assert_uint_eq(ea[i].crc, eb[i].crc);
	}
	ck_assert_str_eq(kabi_symvers_path(a), ref);
	kabi_ctx_free(cached);
	kabi_ctx_free(parsed);
}

static uint32_t cached_crc(const char *name)
{
	struct kabi_ctx *ctx = ctx_with(true);
	const struct kabi_symvers *sv = kabi_ctx_reference(ctx, NULL);
	const struct kabi_symvers_entry *e = sv ? kabi_symvers_find(sv, name) : NULL;
	uint32_t crc = e ? e->crc : 0;

	kabi_ctx_free(ctx);
	return crc;
}

static char *the_index(void)
{
	glob_t g;
	char pattern[sizeof(cache) + 16], *path = NULL;

	snprintf(pattern, sizeof(pattern), "%s/*.idx", cache);
	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1)
		path = strdup(g.gl_pathv[0]);
	globfree(&g);
	return path;
}

/* Replace the first occurrence of 4 bytes in a file. */
static void patch_index(const char *path, uint32_t from, uint32_t to)
{
	FILE *f = fopen(path, "r+b");
	unsigned char buf[1 << 16];
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	for (size_t i = 0; i + 4 <= n; i++) {
		if (memcmp(buf + i, &from, 4) == 0) {
			fseek(f, (long)i, SEEK_SET);
			fwrite(&to, 4, 1, f);
			fclose(f);
			return;
		}
	}
	ck_abort_msg("0x%08x not in the index", from);
}

/* The layout of symvers-index.c, version 2: a 112-byte header, then the
 * entries (5 words each: name, module, type, namespace offsets, CRC), the
 * symbol slots and the module slots (16 each for 6 rows). */
#define HEADER_SIZE 112
#define ENTRY_WORDS 5
#define N_ENTRIES 6
#define N_SLOTS 16
#define SLOTS_AT (HEADER_SIZE + N_ENTRIES * ENTRY_WORDS * 4)
#define MOD_SLOTS_AT (SLOTS_AT + N_SLOTS * 4)

static uint32_t word_at(const char *path, long off)
{
	int fd = open(path, O_RDONLY);
	uint32_t w = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &w, 4, off), 4);
	close(fd);
	return w;
}

static void set_word(const char *path, long off, uint32_t w)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &w, 4, off), 4);
	close(fd);
}

static char logged[1024];

static void keep_log(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	snprintf(logged, sizeof(logged), "%s", msg);
}

static void cleanup(void)
{
	char *idx;

	while ((idx = the_index())) {
		unlink(idx);
		free(idx);
	}
	unlink(ref);
	rmdir(cache);
	*strrchr(cache, '/') = '\0';
	rmdir(cache); /* the parent it made, if any */
	rmdir(dir);
}

START_TEST(index_is_the_parse_and_follows_the_file)
{
	char *idx;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ref, sizeof(ref), "%s/Module.symvers", dir);
	snprintf(cache, sizeof(cache), "%s/cache/kabi-deps", dir);
	write_file(ref, text);

	/* a file changed just now: parsed, and no index yet */
	same_answers();
	ck_assert_ptr_null(the_index());

	/* settled: the first reader writes the index, the next reads it */
	settle();
	same_answers();
	idx = the_index();
	ck_assert_ptr_nonnull(idx);
	same_answers();
	/* proof that it is the index that answers: change a CRC in it */
	patch_index(idx, 0xdeadbeef, 0x0badf00d);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0x0badf00d);
	patch_index(idx, 0x0badf00d, 0xdeadbeef);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0xdeadbeef);

	/* the reference changes in place, same size: the index is stale */
	char changed[sizeof(text)];

	memcpy(changed, text, sizeof(text));
	memcpy(strstr(changed, "0xdeadbeef"), "0xfeedbeef", 10);
	write_file(ref, changed);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0xfeedbeef);
	same_answers();
	/* and once settled, replaced by an index of the new state */
	settle();
	same_answers();
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0xfeedbeef);
	free(idx);
	idx = the_index();
	ck_assert_ptr_nonnull(idx);
	patch_index(idx, 0xfeedbeef, 0x0badf00d);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0x0badf00d);
	patch_index(idx, 0x0badf00d, 0xfeedbeef);

	/* damaged: truncated, or claiming more than it holds: refused */
	ck_assert_int_eq(truncate(idx, 100), 0);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0xfeedbeef);
	same_answers();
	unlink(idx);
	free(idx);
	cleanup();
}
END_TEST

START_TEST(hostile_index_is_refused)
{
	char *idx;
	struct stat st;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ref, sizeof(ref), "%s/Module.symvers", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	write_file(ref, text);
	settle();
	same_answers();
	idx = the_index();
	ck_assert_ptr_nonnull(idx);
	ck_assert_int_eq(stat(idx, &st), 0);
	/* bytes flipped in turn (each of the header's, then a sample of the
	 * rest): a header that does not add up is refused, a body that does is
	 * read within its bounds; never a crash (the suite also runs under ASan) */
	for (off_t off = 8; off < st.st_size; off += off < 128 ? 4 : 97) {
		unsigned char orig, bad;

		fd = open(idx, O_RDWR);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &orig, 1, off), 1);
		bad = orig ^ 0xff;
		ck_assert_int_eq(pwrite(fd, &bad, 1, off), 1);
		{
			struct kabi_ctx *ctx = ctx_with(true);
			const struct kabi_symvers *sv = kabi_ctx_reference(ctx, NULL);
			size_t n;
			const struct kabi_symvers_entry *e = sv ? kabi_symvers_entries(sv, &n) : NULL;

			ck_assert_ptr_nonnull(sv);
			for (size_t i = 0; e && i < n; i++)
				ck_assert_ptr_nonnull(e[i].name); /* and readable, under ASan */
			kabi_symvers_find(sv, "fx_gpl");
			kabi_ctx_free(ctx);
		}
		ck_assert_msg(pwrite(fd, &orig, 1, off) == 1, "%s at %ld", strerror(errno), (long)off);
		close(fd);
	}
	same_answers();
	unlink(idx);
	free(idx);
	cleanup();
}
END_TEST

/* A header that adds up but an offset that does not: found by the lookup
 * that reads it, which the text then answers; the index is replaced. */
START_TEST(damage_found_by_a_lookup)
{
	char *idx;
	struct kabi_ctx *ctx;
	const struct kabi_symvers *sv;
	const struct kabi_symvers_entry *e;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ref, sizeof(ref), "%s/Module.symvers", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	write_file(ref, text);
	settle();
	same_answers();
	idx = the_index();
	ck_assert_ptr_nonnull(idx);
	ck_assert_uint_eq(word_at(idx, HEADER_SIZE + 2 * ENTRY_WORDS * 4 + 16), 0xdeadbeef); /* the layout */

	/* fx_gpl's name (row 2) points past the strings */
	set_word(idx, HEADER_SIZE + 2 * ENTRY_WORDS * 4, 0xfffffff0);
	ck_assert_uint_eq(cached_crc("fx_gpl"), 0xdeadbeef);
	/* replaced by a sound one (the file is settled) */
	free(idx);
	idx = the_index();
	ck_assert_ptr_nonnull(idx);
	ck_assert_uint_ne(word_at(idx, HEADER_SIZE + 2 * ENTRY_WORDS * 4), 0xfffffff0);
	same_answers();

	/* a module offset, found when the whole table is asked for */
	set_word(idx, HEADER_SIZE + 5 * ENTRY_WORDS * 4 + 4, 0xfffffff0);
	same_answers();

	/* symbol slots past the entries */
	free(idx);
	idx = the_index();
	for (long off = SLOTS_AT; off < MOD_SLOTS_AT; off += 4)
		if (word_at(idx, off))
			set_word(idx, off, 0x7fffffff);
	ck_assert_uint_eq(cached_crc("fx_plain"), 0x11223344);
	same_answers();

	/* damaged, and the text gone since it was opened: an error, no answer */
	free(idx);
	idx = the_index();
	set_word(idx, HEADER_SIZE + 2 * ENTRY_WORDS * 4, 0xfffffff0);
	ctx = ctx_with(true);
	kabi_ctx_set_log_fn(ctx, keep_log, NULL);
	sv = kabi_ctx_reference(ctx, NULL);
	ck_assert_ptr_nonnull(sv);
	ck_assert_ptr_nonnull(kabi_symvers_find(sv, "fx_plain")); /* sound so far */
	ck_assert_int_eq(unlink(ref), 0);
	ck_assert_ptr_null(kabi_symvers_find(sv, "fx_gpl"));
	ck_assert_msg(strstr(logged, ref) && strstr(logged, "damaged"), "logged: %s", logged);
	ck_assert_ptr_null(kabi_symvers_find(sv, "fx_plain"));
	e = kabi_symvers_entries(sv, &n);
	ck_assert_uint_eq(n, 0);
	(void)e;
	kabi_ctx_free(ctx);
	free(idx);
	cleanup();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symvers-index");
	TCase *t = tcase_create("index");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, index_is_the_parse_and_follows_the_file);
	tcase_add_test(t, hostile_index_is_refused);
	tcase_add_test(t, damage_found_by_a_lookup);
	suite_add_tcase(s, t);
	return unit_run(s);
}
