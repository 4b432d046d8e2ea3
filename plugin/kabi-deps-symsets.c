/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps symsets: build symsets-KREL.tar.gz from a kernel's Module.symvers.
 *
 * Every export goes into exactly one set: the group a groups file names it
 * in, else the directory of the exporting module (SUSE's grouping; exports
 * of vmlinux form the set "vmlinux").  Styles (doc/rpm-generators.md, "Symsets"):
 *   suse   lines 0xCRC\tSYM\tMODULE\tTYPE sorted by symbol; hash = md5/16
 *   rhel5  lines 0xCRC\tSYM\tMODULE; hash = sha1 of the CRC strings
 * The tarball is reproducible: sorted members, fixed times and owners, no
 * gzip timestamp.  Digests come from rpm's librpmio, tar and gzip from
 * libarchive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
/* rpm >= 4.18 has the digest API in rpmcrypto.h, older rpm in rpmpgp.h */
#ifdef HAVE_RPM_RPMCRYPTO_H
#include <rpm/rpmcrypto.h>
#endif
#include <rpm/rpmpgp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kabideps.h"
#include "kabi-deps.h"

enum style {
	STYLE_SUSE,
	STYLE_RHEL5
};

struct group_rule {
	char *sym;
	char *group;
	size_t order; /* position in the groups file */
	size_t lineno; /* for messages */
};

struct item {
	const struct kabi_symvers_entry *e;
	char *set;
	size_t order;
};

struct member {
	char *name; /* <set>.<hash> */
	char *data;
	size_t size;
};

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("kabi-deps: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool valid_set_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static int cmp_rule_sym(const void *a, const void *b)
{
	return strcmp(((const struct group_rule *)a)->sym, ((const struct group_rule *)b)->sym);
}

/* By symbol, then file order: qsort is not stable, and the sets must not
 * depend on how it orders equal keys. */
static int cmp_rule(const void *a, const void *b)
{
	const struct group_rule *x = a, *y = b;
	int c = strcmp(x->sym, y->sym);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* A symbol named twice in one group counts once; in two groups, it is an
 * error: the tarball would depend on which one won. */
static int unique_rules(const char *path, struct group_rule *rules, size_t *n)
{
	size_t kept = 0;
	int r = 0;

	for (size_t i = 0; i < *n; i++) {
		struct group_rule *prev = kept ? &rules[kept - 1] : NULL;

		if (prev && strcmp(prev->sym, rules[i].sym) == 0) {
			if (strcmp(prev->group, rules[i].group) != 0) {
				fprintf(stderr, "kabi-deps: %s:%zu: %s is in group %s already (line %zu)\n",
					path, rules[i].lineno, rules[i].sym, prev->group, prev->lineno);
				r = -1;
			}
			free(rules[i].sym);
			free(rules[i].group);
			continue;
		}
		rules[kept++] = rules[i];
	}
	*n = kept;
	return r;
}

/* A groups file: "[group]" headers, then its symbols indented by a tab. */
static int read_groups(const char *path, struct group_rule **rules, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *group = NULL;
	size_t cap = 0, lineno = 0, alloc = 0;
	ssize_t len;
	int r = 0;

	if (!f) {
		fail("%s: %s", path, strerror(errno));
		return -1;
	}
	while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char *s = line;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			free(group);
			group = end && end[1] == '\0' ? strndup(s + 1, (size_t)(end - s - 1)) : NULL;
			if (!group || !valid_set_name(group)) {
				fprintf(stderr,
					"kabi-deps: %s:%zu: bad group header (want [name], name of "
					"letters, digits and _)\n",
					path, lineno);
				r = -1;
			}
			continue;
		}
		if (*s != '\t' && *s != ' ') {
			fprintf(stderr, "kabi-deps: %s:%zu: symbol lines must be indented\n", path, lineno);
			r = -1;
			continue;
		}
		s += strspn(s, "\t ");
		if (!group) {
			fprintf(stderr, "kabi-deps: %s:%zu: symbol before any [group]\n", path, lineno);
			r = -1;
			continue;
		}
		if (*n == alloc) {
			struct group_rule *p =
				realloc(*rules, (alloc = alloc ? alloc * 2 : 256) * sizeof(*p));

			if (!p) {
				r = -1;
				break;
			}
			*rules = p;
		}
		(*rules)[*n] = (struct group_rule){ strdup(s), strdup(group), *n, lineno };
		if (!(*rules)[*n].sym || !(*rules)[*n].group)
			r = -1;
		(*n)++;
	}
	free(line);
	free(group);
	fclose(f);
	if (r == 0 && *n) {
		qsort(*rules, *n, sizeof(**rules), cmp_rule);
		r = unique_rules(path, *rules, n);
	}
	return r;
}

/* SUSE's default set: the directory of the exporting module, made a name. */
static char *directory_set(const char *module)
{
	const char *slash = strrchr(module, '/');
	size_t len = slash ? (size_t)(slash - module) : strlen(module);
	char *set = strndup(module, len);

	for (char *p = set; p && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	return set;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->set, y->set);

	if (c)
		return c;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->e->name, y->e->name);
}

static char *digest_hex(int algo, const void *data, size_t size)
{
	DIGEST_CTX d = rpmDigestInit(algo, RPMDIGEST_NONE);
	char *hex = NULL;

	if (!d)
		return NULL;
	rpmDigestUpdate(d, data, size);
	rpmDigestFinal(d, (void **)&hex, NULL, 1);
	return hex;
}

/* Render one set (items[0..n) share a set) and name it by its hash. */
static int make_member(enum style style, const struct item *items, size_t n, struct member *m)
{
	char *text = NULL, *crcs = NULL, *hash;
	size_t text_size = 0, crcs_size = 0;
	FILE *out = open_memstream(&text, &text_size);
	FILE *crc_out = open_memstream(&crcs, &crcs_size);

	if (!out || !crc_out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct kabi_symvers_entry *e = items[i].e;

		fprintf(out, "0x%08x\t%s\t%s", e->crc, e->name, e->module);
		if (style == STYLE_SUSE && *e->type)
			fprintf(out, "\t%s", e->type);
		fputc('\n', out);
		fprintf(crc_out, "0x%08x", e->crc);
	}
	fclose(out);
	fclose(crc_out);
	if (style == STYLE_SUSE) {
		hash = digest_hex(PGPHASHALGO_MD5, text, text_size);
		if (hash)
			hash[16] = '\0';
	} else {
		hash = digest_hex(PGPHASHALGO_SHA1, crcs, crcs_size);
	}
	free(crcs);
	if (!hash || asprintf(&m->name, "%s.%s", items[0].set, hash) < 0) {
		free(hash);
		free(text);
		return -1;
	}
	free(hash);
	m->data = text;
	m->size = text_size;
	return 0;
}

/* An old set is kept when every one of its lines still holds. */
static bool still_holds(const struct kabi_symvers *old_set, const struct kabi_symvers *now)
{
	size_t n;
	const struct kabi_symvers_entry *e = kabi_symvers_entries(old_set, &n);

	for (size_t i = 0; i < n; i++) {
		const struct kabi_symvers_entry *cur = kabi_symvers_find(now, e[i].name);

		if (!cur || cur->crc != e[i].crc || strcmp(cur->module, e[i].module) ||
		    (*e[i].type && strcmp(cur->type, e[i].type)))
			return false;
	}
	return true;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static int write_tarball(const char *out, const char *release, struct member *members, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *dir = NULL;
	int r = -1;

	if (!a || !e || asprintf(&dir, "symsets-%s", release) < 0)
		goto out;
	qsort(members, n, sizeof(*members), cmp_member);
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "gzip:!timestamp,gzip:compression-level=9") != ARCHIVE_OK ||
	    archive_write_open_filename(a, out) != ARCHIVE_OK)
		goto out;
	for (size_t i = 0; i <= n; i++) {
		char *path = NULL;

		archive_entry_clear(e);
		if (i == 0 ? asprintf(&path, "%s/", dir) < 0 :
			     asprintf(&path, "%s/%s", dir, members[i - 1].name) < 0)
			goto out;
		archive_entry_set_pathname(e, path);
		free(path);
		archive_entry_set_filetype(e, i == 0 ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, i == 0 ? 0755 : 0644);
		archive_entry_set_size(e, i == 0 ? 0 : (la_int64_t)members[i - 1].size);
		archive_entry_set_mtime(e, 0, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_uname(e, "root");
		archive_entry_set_gname(e, "root");
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (i > 0 && archive_write_data(a, members[i - 1].data, members[i - 1].size) !=
				      (la_ssize_t)members[i - 1].size))
			goto out;
	}
	if (archive_write_close(a) == ARCHIVE_OK)
		r = 0;
out:
	if (r < 0)
		fail("%s: cannot write: %s", out,
		     a ? archive_error_string(a) ? archive_error_string(a) : "failed" : "out of memory");
	archive_entry_free(e);
	archive_write_free(a);
	free(dir);
	return r;
}

static void symsets_usage(FILE *out)
{
	fputs("usage: kabi-deps symsets --release KREL [--style suse|rhel5] [--groups FILE]\n"
	      "                         [--reference OLD.tar.gz] -o OUT.tar.gz SYMVERS\n"
	      "Groups the exports of SYMVERS (Module.symvers, symvers.gz/.xz/.zst) into sets,\n"
	      "one per directory of the exporting modules (vmlinux for the kernel image), and\n"
	      "writes them as symsets-KREL/SET.HASH members of a reproducible tarball\n"
	      "(man kabi-deps-symsets).\n"
	      "  --release KREL        the kernel release (the tarball's directory)\n"
	      "  --style suse|rhel5    suse (default): lines sorted by symbol, hash = md5, 16\n"
	      "                        hex digits; rhel5: RHEL 5's lines, hash = sha1\n"
	      "  --groups FILE         sets as FILE says: [SET] lines, then its symbols\n"
	      "                        indented by a tab, as kABI stablelists are written\n"
	      "  --reference OLD.tar.gz  keep the sets of an older tarball that still hold\n"
	      "  -o, --output OUT.tar.gz  where to write the tarball\n"
	      "  -h, --help            this text\n"
	      "Exit status: 0 written, 1 a file could not be read or written, 2 usage error.\n",
	      out);
}

int kabi_deps_symsets(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "release", required_argument, NULL, 'r' },
		{ "style", required_argument, NULL, 's' },
		{ "groups", required_argument, NULL, 'g' },
		{ "reference", required_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *release = NULL, *groups = NULL, *reference = NULL, *out = NULL;
	enum style style = STYLE_SUSE;
	struct kabi_ctx *ctx = NULL;
	struct kabi_symvers *sv = NULL;
	struct kabi_symsets *old = NULL;
	struct group_rule *rules = NULL;
	struct item *items = NULL;
	struct member *members = NULL;
	size_t n_rules = 0, n_items = 0, n_members = 0;
	const struct kabi_symvers_entry *entries;
	int c, status = 1;

	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			symsets_usage(stdout);
			return 0;
		case 'r':
			release = optarg;
			break;
		case 'g':
			groups = optarg;
			break;
		case 'R':
			reference = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			if (strcmp(optarg, "suse") == 0) {
				style = STYLE_SUSE;
			} else if (strcmp(optarg, "rhel5") == 0) {
				style = STYLE_RHEL5;
			} else {
				fail("unknown --style %s (suse or rhel5)", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (!release || !out || optind != argc - 1 || strchr(release, '/') || !*release) {
		symsets_usage(stderr);
		return 2;
	}
	rpmInitCrypto();
	ctx = kabi_ctx_new();
	if (!ctx)
		goto oom;
	if (kabi_symvers_open(ctx, argv[optind], &sv) < 0) {
		fail("%s: %s", argv[optind], kabi_ctx_error(ctx));
		goto out;
	}
	if (reference && kabi_symsets_open(ctx, reference, &old) < 0) {
		fail("%s: %s", reference, kabi_ctx_error(ctx));
		goto out;
	}
	if (groups && read_groups(groups, &rules, &n_rules) < 0)
		goto out;

	entries = kabi_symvers_entries(sv, &n_items);
	items = calloc(n_items + 1, sizeof(*items));
	members = calloc(n_items + 1, sizeof(*members));
	if (!items || !members)
		goto oom;
	for (size_t i = 0; i < n_items; i++) {
		struct group_rule key = { .sym = (char *)entries[i].name };
		const struct group_rule *rule =
			n_rules ? bsearch(&key, rules, n_rules, sizeof(*rules), cmp_rule_sym) : NULL;

		items[i].e = &entries[i];
		items[i].set = rule					 ? strdup(rule->group) :
			       strcmp(entries[i].module, "vmlinux") == 0 ? strdup("vmlinux") :
									   directory_set(entries[i].module);
		/* rhel5 lists a group in the order of its groups file, the rest by symbol */
		items[i].order = rule && style == STYLE_RHEL5 ? rule->order : 0;
		if (!items[i].set)
			goto oom;
	}
	qsort(items, n_items, sizeof(*items), cmp_item);
	for (size_t i = 0, j; i < n_items; i = j) {
		for (j = i + 1; j < n_items && strcmp(items[j].set, items[i].set) == 0; j++)
			;
		if (make_member(style, items + i, j - i, &members[n_members]) < 0)
			goto oom;
		n_members++;
	}
	if (old) {
		size_t n_old;
		const struct kabi_symset *sets = kabi_symsets_sets(old, &n_old);
		struct member *more = realloc(members, (n_members + n_old + 1) * sizeof(*members));

		if (!more)
			goto oom;
		members = more;
		for (size_t i = 0; i < n_old; i++) {
			struct member m = { 0 };
			bool dup = false;
			const void *data = kabi_symsets_data(old, i, &m.size);

			if (!still_holds(kabi_symsets_content(old, i), sv))
				continue;
			if (asprintf(&m.name, "%s.%s", sets[i].name, sets[i].hash) < 0)
				goto oom;
			for (size_t k = 0; k < n_members && !dup; k++)
				dup = strcmp(members[k].name, m.name) == 0;
			if (dup || !(m.data = malloc(m.size + 1))) {
				free(m.name);
				if (dup)
					continue;
				goto oom;
			}
			memcpy(m.data, data, m.size);
			members[n_members++] = m;
		}
	}
	status = write_tarball(out, release, members, n_members) < 0;
	goto out;
oom:
	fputs("kabi-deps: out of memory\n", stderr);
out:
	for (size_t i = 0; i < n_items && items; i++)
		free(items[i].set);
	for (size_t i = 0; i < n_members; i++) {
		free(members[i].name);
		free(members[i].data);
	}
	for (size_t i = 0; i < n_rules; i++) {
		free(rules[i].sym);
		free(rules[i].group);
	}
	free(rules);
	free(items);
	free(members);
	kabi_symsets_free(old);
	kabi_symvers_free(sv);
	kabi_ctx_free(ctx);
	return status;
}
